//! Interrupts, from outside: InterruptAttachEvent, InterruptAttach's kernel half (the service
//! thread's wait and done calls), InterruptDetach, InterruptMask, InterruptUnmask,
//! InterruptWait and `Kernel::interrupt_raise` (the hardware), against QNX's semantics:
//!
//! * InterruptAttachEvent masks the level when it delivers; the driver unmasks with
//!   InterruptUnmask. InterruptMask/Unmask return the level's mask count.
//! * A raise of a masked level is latched: one request, however many raises, delivered when
//!   the count falls to 0.
//! * Shared levels: every attachment gets each raise (`_NTO_INTR_FLAGS_END` ones last), each
//!   masking the level once; `_NTO_INTR_FLAGS_EXCLUSIVE` refuses sharing (EBUSY).
//! * `_NTO_INTR_FLAGS_TRK_MSK`: the kernel gives back the masks a detached (or dead)
//!   attachment held; without it they stay.
//! * `SIGEV_INTR` goes to the attaching thread; InterruptWait returns at once if one came since
//!   the last wait (several make one); it is bounded by TimerTimeout(`_NTO_TIMEOUT_INTR`) and
//!   interrupted by signals (EINTR).
//!
//! The pool checks (`support::live`) do not count interrupt attachments: each test checks
//! `pool_usage().interrupts` itself.

mod support;

use kernel_sim::info::InterruptInfo;
use std::time::Duration;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;
const TRK: u32 = _NTO_INTR_FLAGS_TRK_MSK;

// ------------------------------------------------------------------ helpers

/// The attachments on `level`, in delivery order (the snapshot's).
fn on_level(k: &Kernel, level: u32) -> Vec<InterruptInfo> {
    k.snapshot()
        .interrupts
        .into_iter()
        .filter(|i| i.level == level)
        .collect()
}

/// Attachment `id` as the snapshot shows it.
fn info(k: &Kernel, id: i32) -> InterruptInfo {
    k.snapshot()
        .interrupts
        .into_iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no attachment {id} listed"))
}

/// Level `level`'s mask count, as its attachments show it (it must have one).
fn level_mask(k: &Kernel, level: u32) -> u32 {
    on_level(k, level)
        .first()
        .unwrap_or_else(|| panic!("no attachment on level {level}"))
        .level_mask
}

/// Live interrupt attachments.
fn intrs_live(k: &Kernel) -> u32 {
    k.pool_usage().interrupts.live
}

/// InterruptWait(0) that never blocks: ETIMEDOUT when no `SIGEV_INTR` is pending.
fn poll_wait(t: &ThreadCtx) -> KResult<()> {
    arm(t, _NTO_TIMEOUT_INTR, None);
    t.interrupt_wait(0)
}

/// InterruptWait(0) bounded by [`LONG`].
fn wait_intr(t: &ThreadCtx) -> KResult<()> {
    arm(t, _NTO_TIMEOUT_INTR, Some(LONG));
    t.interrupt_wait(0)
}

/// Waits until thread `pid`/`tid` is INTR-blocked.
fn wait_intr_blocked(k: &Kernel, pid: i32, tid: i32) -> ThreadInfo {
    wait_for(k, pid, tid, "INTR-blocked", |s| *s == ThreadState::Intr)
}

/// A `SIGEV_PULSE` event on `coid` (priority 10).
fn pulse_ev(coid: i32, code: i8, value: i32) -> SigEvent {
    SigEvent::pulse(coid, 10, code, value)
}

/// The pulses queued on `chid` (received until none is left), as (code, value).
fn pulses(t: &ThreadCtx, chid: i32) -> Vec<(i8, i32)> {
    let mut v = Vec::new();
    while let Some(p) = poll_pulse(t, chid) {
        v.push((p.code, p.value_int()));
    }
    v
}

// ------------------------------------------------------------------ attach, deliver, mask counts

#[test]
fn attach_event_gives_a_positive_id_and_a_raise_delivers_it_masking_the_level() {
    let w = one();
    let id = w.t.interrupt_attach_event(5, &SigEvent::intr(), 0).unwrap();
    assert!(id > 0, "id {id}");
    assert_eq!(intrs_live(&w.k), 1);
    let i = info(&w.k, id);
    assert_eq!(
        (i.level, i.pid, i.tid, i.handler, i.event_kind, i.masks),
        (5, w.p.pid, w.t.tid(), false, sigev::SIGEV_INTR, 0)
    );
    assert_eq!(i.level_mask, 0, "attached unmasked");
    assert_eq!(w.k.interrupt_raise(5), Ok(1), "went to one attachment");
    assert_eq!(wait_intr(&w.t), Ok(()));
    let i = info(&w.k, id);
    assert_eq!(
        (i.masks, i.delivered, i.level_mask, i.level_raised),
        (1, 1, 1, 1)
    );
    assert_eq!(
        w.t.interrupt_unmask(5, id),
        Ok(0),
        "unmask returns the count"
    );
    assert_eq!(info(&w.k, id).masks, 0);
    w.t.interrupt_detach(id).unwrap();
    assert_eq!(intrs_live(&w.k), 0);
    w.finish();
}

#[test]
fn mask_and_unmask_return_the_level_mask_count_and_unmask_stops_at_zero() {
    let w = one();
    let id = w.t.interrupt_attach_event(6, &SigEvent::intr(), 0).unwrap();
    assert_eq!(w.t.interrupt_mask(6, -1), Ok(1));
    assert_eq!(w.t.interrupt_mask(6, id), Ok(2));
    assert_eq!(w.t.interrupt_mask(6, id), Ok(3));
    assert_eq!(info(&w.k, id).masks, 2, "the two masks made with its id");
    assert_eq!(level_mask(&w.k, 6), 3);
    assert_eq!(w.t.interrupt_unmask(6, id), Ok(2));
    assert_eq!(w.t.interrupt_unmask(6, -1), Ok(1));
    assert_eq!(w.t.interrupt_unmask(6, id), Ok(0));
    assert_eq!(w.t.interrupt_unmask(6, id), Ok(0), "a count at 0 stays 0");
    assert_eq!(w.t.interrupt_unmask(6, -1), Ok(0));
    assert_eq!(info(&w.k, id).masks, 0);
    // A level no one attached to has a count too.
    assert_eq!(w.t.interrupt_mask(200, -1), Ok(1));
    assert_eq!(w.t.interrupt_unmask(200, -1), Ok(0));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn many_raises_while_masked_latch_one_request_delivered_once_at_unmask() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(7, &pulse_ev(w.coid, 3, 33), 0)
            .unwrap();
    assert_eq!(w.t.interrupt_mask(7, id), Ok(1));
    for _ in 0..5 {
        assert_eq!(w.k.interrupt_raise(7), Ok(0), "masked: latched");
    }
    let i = info(&w.k, id);
    assert!(i.level_pending, "{i:?}");
    assert_eq!((i.delivered, i.level_raised), (0, 5));
    assert_nothing_queued(&w.t, w.chid);
    assert_eq!(
        w.t.interrupt_unmask(7, id),
        Ok(1),
        "the latched request is delivered and masks the level again"
    );
    assert_eq!(pulses(&w.t, w.chid), vec![(3, 33)], "exactly one delivery");
    let i = info(&w.k, id);
    assert!(!i.level_pending);
    assert_eq!((i.delivered, i.masks), (1, 1));
    assert_eq!(w.t.interrupt_unmask(7, id), Ok(0));
    assert_eq!(pulses(&w.t, w.chid), vec![], "nothing more latched");
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn a_raise_of_a_level_with_no_attachment_is_dropped() {
    let w = one();
    assert_eq!(w.k.interrupt_raise(40), Ok(0));
    let id =
        w.t.interrupt_attach_event(40, &pulse_ev(w.coid, 1, 1), 0)
            .unwrap();
    assert_eq!(pulses(&w.t, w.chid), vec![], "nothing was latched for it");
    assert_eq!(info(&w.k, id).level_mask, 0);
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ shared levels

#[test]
fn a_shared_level_goes_to_every_attachment_and_is_masked_once_by_each() {
    let w = one();
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    let ocoid = o.connect_attach(0, w.p.pid, w.chid, SIDE, 0).unwrap();
    let a =
        w.t.interrupt_attach_event(9, &pulse_ev(w.coid, 1, 100), 0)
            .unwrap();
    let b = o
        .interrupt_attach_event(9, &pulse_ev(ocoid, 2, 200), 0)
        .unwrap();
    assert_eq!(w.k.interrupt_raise(9), Ok(2));
    assert_eq!(level_mask(&w.k, 9), 2, "masked twice");
    // (The latest attachment first, as QNX places a new one in front.)
    assert_eq!(pulses(&w.t, w.chid), vec![(2, 200), (1, 100)]);
    assert_eq!(w.t.interrupt_unmask(9, a), Ok(1), "b still holds it");
    assert_eq!(w.k.interrupt_raise(9), Ok(0), "still masked: latched");
    assert_eq!(pulses(&w.t, w.chid), vec![]);
    assert_eq!(
        o.interrupt_unmask(9, b),
        Ok(2),
        "the latched request went to both, masking twice"
    );
    assert_eq!(pulses(&w.t, w.chid), vec![(2, 200), (1, 100)]);
    w.t.interrupt_detach(a).unwrap();
    o.interrupt_detach(b).unwrap();
    drop(o);
    w.k.process_destroy(other).unwrap();
    w.finish();
}

/// QNX: a new attachment is placed in front of those there and delivered first; one made with
/// `_NTO_INTR_FLAGS_END` goes after all of them.
#[test]
fn end_flag_attachments_are_delivered_after_the_others_and_a_new_one_first() {
    let w = one();
    let first_end =
        w.t.interrupt_attach_event(10, &pulse_ev(w.coid, 1, 0), _NTO_INTR_FLAGS_END)
            .unwrap();
    let plain =
        w.t.interrupt_attach_event(10, &pulse_ev(w.coid, 2, 0), 0)
            .unwrap();
    let second_end =
        w.t.interrupt_attach_event(10, &pulse_ev(w.coid, 3, 0), _NTO_INTR_FLAGS_END)
            .unwrap();
    let plain2 =
        w.t.interrupt_attach_event(10, &pulse_ev(w.coid, 4, 0), 0)
            .unwrap();
    let order: Vec<i32> = on_level(&w.k, 10).iter().map(|i| i.id).collect();
    assert_eq!(order, vec![plain2, plain, first_end, second_end]);
    assert_eq!(w.k.interrupt_raise(10), Ok(4));
    let codes: Vec<i8> = pulses(&w.t, w.chid).iter().map(|p| p.0).collect();
    assert_eq!(codes, vec![4, 2, 1, 3], "delivery order");
    for id in [first_end, plain, second_end, plain2] {
        w.t.interrupt_detach(id).unwrap();
    }
    w.finish();
}

#[test]
fn exclusive_refuses_sharing_both_ways_with_ebusy() {
    let w = one();
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    let ex =
        w.t.interrupt_attach_event(11, &SigEvent::intr(), _NTO_INTR_FLAGS_EXCLUSIVE)
            .unwrap();
    for flags in [0, _NTO_INTR_FLAGS_EXCLUSIVE, _NTO_INTR_FLAGS_END] {
        assert_eq!(
            w.t.interrupt_attach_event(11, &SigEvent::intr(), flags),
            Err(Errno::EBUSY),
            "same process, flags {flags:#x}"
        );
        assert_eq!(
            o.interrupt_attach_event(11, &SigEvent::intr(), flags),
            Err(Errno::EBUSY),
            "another process, flags {flags:#x}"
        );
        assert_eq!(
            o.interrupt_attach_handler(11, flags),
            Err(Errno::EBUSY),
            "a handler, flags {flags:#x}"
        );
    }
    assert_eq!(intrs_live(&w.k), 1, "the refusals took nothing");
    w.t.interrupt_detach(ex).unwrap();
    // The other way: an exclusive attachment on a level already in use.
    let plain = o.interrupt_attach_event(11, &SigEvent::intr(), 0).unwrap();
    assert_eq!(
        w.t.interrupt_attach_event(11, &SigEvent::intr(), _NTO_INTR_FLAGS_EXCLUSIVE),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        w.t.interrupt_attach_handler(11, _NTO_INTR_FLAGS_EXCLUSIVE),
        Err(Errno::EBUSY)
    );
    // Another level is free.
    let elsewhere =
        w.t.interrupt_attach_event(12, &SigEvent::intr(), _NTO_INTR_FLAGS_EXCLUSIVE)
            .unwrap();
    assert_eq!(intrs_live(&w.k), 2);
    o.interrupt_detach(plain).unwrap();
    w.t.interrupt_detach(elsewhere).unwrap();
    drop(o);
    w.k.process_destroy(other).unwrap();
    w.finish();
}

#[test]
fn no_unmask_attaches_with_the_level_masked_until_the_driver_unmasks() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(13, &SigEvent::intr(), _NTO_INTR_FLAGS_NO_UNMASK)
            .unwrap();
    let i = info(&w.k, id);
    assert_eq!((i.level_mask, i.masks), (1, 1));
    assert_eq!(w.k.interrupt_raise(13), Ok(0), "masked: latched");
    assert_eq!(
        poll_wait(&w.t),
        Err(Errno::ETIMEDOUT),
        "nothing delivered yet"
    );
    assert_eq!(
        w.t.interrupt_unmask(13, id),
        Ok(1),
        "unmasked: the latched request is delivered and masks it again"
    );
    assert_eq!(poll_wait(&w.t), Ok(()));
    assert_eq!(w.t.interrupt_unmask(13, id), Ok(0));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ TRK_MSK

/// Level 14 shared by `a` (of process `ap`, flags `aflags`, a `SIGEV_INTR` of its thread) and
/// `b` (the test's, a pulse on its channel): raised once (both hold a mask), b unmasks, raised
/// again (latched behind a's mask). Returns a's id and b's id.
fn a_holds_a_mask_and_a_request_is_latched(w: &One, a: &ThreadCtx, aflags: u32) -> (i32, i32) {
    let aid = a
        .interrupt_attach_event(14, &SigEvent::intr(), aflags)
        .unwrap();
    let bid =
        w.t.interrupt_attach_event(14, &pulse_ev(w.coid, 5, 55), 0)
            .unwrap();
    assert_eq!(w.k.interrupt_raise(14), Ok(2));
    assert_eq!(pulses(&w.t, w.chid), vec![(5, 55)]);
    assert_eq!(
        w.t.interrupt_unmask(14, bid),
        Ok(1),
        "a still holds its mask"
    );
    assert_eq!(w.k.interrupt_raise(14), Ok(0), "latched");
    assert_eq!(info(&w.k, aid).masks, 1);
    (aid, bid)
}

#[test]
fn trk_msk_detach_gives_back_the_held_mask_and_the_latched_request_reaches_the_other() {
    let w = one();
    let p2 = w.k.process_create().unwrap();
    let a = w.k.thread_attach(p2, 10).unwrap();
    let (aid, bid) = a_holds_a_mask_and_a_request_is_latched(&w, &a, TRK);
    a.interrupt_detach(aid).unwrap();
    assert_eq!(
        pulses(&w.t, w.chid),
        vec![(5, 55)],
        "the latched request was delivered to the remaining attachment"
    );
    assert_eq!(level_mask(&w.k, 14), 1, "masked by that delivery only");
    assert_eq!(w.t.interrupt_unmask(14, bid), Ok(0));
    w.t.interrupt_detach(bid).unwrap();
    drop(a);
    w.k.process_destroy(p2).unwrap();
    w.finish();
}

#[test]
fn trk_msk_process_death_gives_back_the_held_mask_and_the_latched_request_reaches_the_other() {
    let w = one();
    let p2 = w.k.process_create().unwrap();
    let a = w.k.thread_attach(p2, 10).unwrap();
    let (_aid, bid) = a_holds_a_mask_and_a_request_is_latched(&w, &a, TRK);
    drop(a);
    w.k.process_destroy(p2).unwrap();
    assert_eq!(intrs_live(&w.k), 1, "its attachment went with it");
    assert_eq!(pulses(&w.t, w.chid), vec![(5, 55)]);
    assert_eq!(level_mask(&w.k, 14), 1);
    assert_eq!(w.t.interrupt_unmask(14, bid), Ok(0));
    w.t.interrupt_detach(bid).unwrap();
    w.finish();
}

#[test]
fn without_trk_msk_detach_and_death_leave_the_masks() {
    for by_death in [false, true] {
        let w = one();
        let p2 = w.k.process_create().unwrap();
        let a = w.k.thread_attach(p2, 10).unwrap();
        let (aid, bid) = a_holds_a_mask_and_a_request_is_latched(&w, &a, 0);
        let a = if by_death {
            drop(a);
            w.k.process_destroy(p2).unwrap();
            None
        } else {
            a.interrupt_detach(aid).unwrap();
            Some(a)
        };
        assert_eq!(
            pulses(&w.t, w.chid),
            vec![],
            "death {by_death}: still latched"
        );
        let i = info(&w.k, bid);
        assert_eq!(
            (i.level_mask, i.level_pending),
            (1, true),
            "death {by_death}"
        );
        // The driver that is left unmasks what was left: the request comes.
        assert_eq!(w.t.interrupt_unmask(14, -1), Ok(1));
        assert_eq!(pulses(&w.t, w.chid), vec![(5, 55)]);
        assert_eq!(w.t.interrupt_unmask(14, bid), Ok(0));
        w.t.interrupt_detach(bid).unwrap();
        if !by_death {
            drop(a);
            w.k.process_destroy(p2).unwrap();
        }
        w.finish();
    }
}

// ------------------------------------------------------------------ pulse and signal events

#[test]
fn a_pulse_event_carries_its_code_value_and_priority() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(15, &SigEvent::pulse(w.coid, 33, 7, 0x0707), 0)
            .unwrap();
    assert_eq!(info(&w.k, id).event_kind, sigev::SIGEV_PULSE);
    assert_eq!(w.k.interrupt_raise(15), Ok(1));
    let p = receive_pulse(&w.t, w.chid);
    assert_eq!((p.code, p.value_int()), (7, 0x0707));
    assert_eq!(p.scoid, scoid_of(&w.k, w.p.pid, w.coid));
    assert_eq!(
        w.t.priority(),
        Ok((10, 33)),
        "the receiver took the pulse's priority"
    );
    w.t.interrupt_unmask(15, id).unwrap();
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn a_raise_while_the_last_pulse_is_still_queued_merges_into_it_and_takes_no_pulse() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(16, &pulse_ev(w.coid, 8, 88), 0)
            .unwrap();
    let pulses_live = w.k.pool_usage().pulses.live;
    assert_eq!(w.k.interrupt_raise(16), Ok(1));
    assert_eq!(queued(&w.k, w.p.pid, w.chid), 1);
    for _ in 0..3 {
        assert_eq!(w.t.interrupt_unmask(16, id), Ok(0));
        assert_eq!(w.k.interrupt_raise(16), Ok(1));
    }
    assert_eq!(
        queued(&w.k, w.p.pid, w.chid),
        1,
        "merged into the queued pulse"
    );
    assert_eq!(
        w.k.pool_usage().pulses.live,
        pulses_live,
        "no pulse taken from the pool"
    );
    assert_eq!(info(&w.k, id).delivered, 4);
    assert_eq!(pulses(&w.t, w.chid), vec![(8, 88)]);
    // Received: the next raise queues it again.
    w.t.interrupt_unmask(16, id).unwrap();
    w.k.interrupt_raise(16).unwrap();
    assert_eq!(pulses(&w.t, w.chid), vec![(8, 88)]);
    w.t.interrupt_unmask(16, id).unwrap();
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn detaching_with_its_pulse_still_queued_leaves_the_pulse_receivable_and_the_pool_whole() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(17, &pulse_ev(w.coid, 9, 99), 0)
            .unwrap();
    w.k.interrupt_raise(17).unwrap();
    w.t.interrupt_detach(id).unwrap();
    assert_eq!(pulses(&w.t, w.chid), vec![(9, 99)]);
    w.finish();
}

#[test]
fn a_signal_event_signals_the_attaching_thread_with_its_code_and_value() {
    let signo = install_rt_handler(1);
    let w = one();
    let id =
        w.t.interrupt_attach_event(18, &SigEvent::signal_thread(signo, 1818, -18), 0)
            .unwrap();
    let me = os_tid();
    // Raised from another OS thread, as a device would: the signal goes to the attacher.
    let k = w.k.clone();
    std::thread::spawn(move || k.interrupt_raise(18))
        .join()
        .unwrap()
        .unwrap();
    let r = wait_signal(signo, 1);
    assert_eq!((r.code, r.value, r.tid), (-18, 1818, me));
    assert_eq!(w.t.interrupt_unmask(18, id), Ok(0));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ InterruptWait

#[test]
fn an_event_before_the_wait_makes_it_return_at_once_and_several_make_one() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(20, &SigEvent::intr(), 0)
            .unwrap();
    for _ in 0..3 {
        assert_eq!(w.k.interrupt_raise(20), Ok(1));
        assert_eq!(w.t.interrupt_unmask(20, id), Ok(0));
    }
    assert_eq!(poll_wait(&w.t), Ok(()), "pending: returns without blocking");
    assert_eq!(poll_wait(&w.t), Err(Errno::ETIMEDOUT), "three made one");
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn a_raise_readies_a_thread_blocked_in_interrupt_wait() {
    let w = one();
    let bg = spawn(&w.k, w.p, 10, |c| {
        let id = c.interrupt_attach_event(21, &SigEvent::intr(), 0).unwrap();
        (
            wait_intr(c),
            c.interrupt_unmask(21, id),
            c.interrupt_detach(id),
        )
    });
    wait_intr_blocked(&w.k, w.p.pid, bg.tid);
    assert_eq!(w.k.interrupt_raise(21), Ok(1));
    assert_eq!(bg.join(), (Ok(()), Ok(0), Ok(())));
    w.finish();
}

#[test]
fn sigev_intr_goes_to_the_attaching_thread_only() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(22, &SigEvent::intr(), 0)
            .unwrap();
    // A sibling waits with no attachment: the raise is not for it.
    let bg = spawn(&w.k, w.p, 10, |c| {
        arm(c, _NTO_TIMEOUT_INTR, Some(SHORT));
        c.interrupt_wait(0)
    });
    wait_intr_blocked(&w.k, w.p.pid, bg.tid);
    assert_eq!(w.k.interrupt_raise(22), Ok(1));
    assert_eq!(
        bg.join(),
        Err(Errno::ETIMEDOUT),
        "the sibling was not woken"
    );
    assert_eq!(poll_wait(&w.t), Ok(()), "the attacher has it");
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn timer_timeout_intr_bounds_interrupt_wait_and_a_null_time_polls() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(23, &SigEvent::intr(), 0)
            .unwrap();
    arm(&w.t, _NTO_TIMEOUT_INTR, Some(SHORT));
    assert_eq!(w.t.interrupt_wait(0), Err(Errno::ETIMEDOUT));
    assert_eq!(poll_wait(&w.t), Err(Errno::ETIMEDOUT));
    // Nothing was consumed or left armed: a raise now is waited for normally.
    w.k.interrupt_raise(23).unwrap();
    assert_eq!(wait_intr(&w.t), Ok(()));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn a_timeout_armed_for_other_states_does_not_bound_interrupt_wait() {
    let w = one();
    let bg = spawn(&w.k, w.p, 10, |c| {
        let id = c.interrupt_attach_event(24, &SigEvent::intr(), 0).unwrap();
        arm(
            c,
            _NTO_TIMEOUT_RECEIVE | _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            None,
        );
        let r = c.interrupt_wait(0);
        c.interrupt_detach(id).unwrap();
        r
    });
    let wd = Watchdog::new(&w.k, w.p);
    wait_intr_blocked(&w.k, w.p.pid, bg.tid);
    w.k.interrupt_raise(24).unwrap();
    assert_eq!(bg.join(), Ok(()));
    assert!(!wd.fired());
    drop(wd);
    w.finish();
}

#[test]
fn a_signal_interrupts_interrupt_wait_with_eintr() {
    let signo = install_rt_handler(2);
    let w = one();
    let bg = spawn(&w.k, w.p, 10, |c| {
        let id = c.interrupt_attach_event(25, &SigEvent::intr(), 0).unwrap();
        let r = wait_intr(c);
        c.interrupt_detach(id).unwrap();
        r
    });
    wait_intr_blocked(&w.k, w.p.pid, bg.tid);
    w.t.signal_kill(0, w.p.pid, bg.tid, signo, -1, 7).unwrap();
    let os = bg.os_tid;
    assert_eq!(bg.join(), Err(Errno::EINTR));
    assert_eq!(
        wait_signal(signo, 1).tid,
        os,
        "its handler ran in the waiter"
    );
    w.finish();
}

#[test]
fn a_sigev_unblock_timeout_event_ends_interrupt_wait_with_etimedout() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(26, &SigEvent::intr(), 0)
            .unwrap();
    w.t.timer_timeout_event(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_INTR,
        Some(&SigEvent::unblock()),
        Some(SHORT),
    )
    .unwrap();
    assert_eq!(w.t.interrupt_wait(0), Err(Errno::ETIMEDOUT));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn a_periodic_timer_with_a_sigev_intr_event_wakes_interrupt_wait() {
    // QNX's idiom for a periodic loop: timer_create(SIGEV_INTR) and InterruptWait.
    let w = one();
    let tid =
        w.t.timer_create(CLOCK_MONOTONIC, Some(&SigEvent::intr()))
            .unwrap();
    w.t.timer_settime(tid, 0, 2_000_000, 2_000_000).unwrap();
    for _ in 0..3 {
        assert_eq!(wait_intr(&w.t), Ok(()));
    }
    w.t.timer_destroy(tid).unwrap();
    w.finish();
}

#[test]
fn wait_unmask_flag_unmasks_what_the_thread_holds_before_waiting() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(27, &SigEvent::intr(), 0)
            .unwrap();
    w.k.interrupt_raise(27).unwrap();
    assert_eq!(poll_wait(&w.t), Ok(()));
    assert_eq!(level_mask(&w.k, 27), 1, "held by the delivery");
    assert_eq!(w.k.interrupt_raise(27), Ok(0), "latched");
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(
        w.t.interrupt_wait(_NTO_INTR_WAIT_FLAGS_UNMASK),
        Ok(()),
        "unmasked first: the latched request came before it would block"
    );
    assert_eq!(level_mask(&w.k, 27), 1, "masked again by that delivery");
    // With nothing latched it unmasks and then waits.
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(
        w.t.interrupt_wait(_NTO_INTR_WAIT_FLAGS_UNMASK),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(level_mask(&w.k, 27), 0);
    // FAST waits as 0 does.
    w.k.interrupt_raise(27).unwrap();
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(w.t.interrupt_wait(_NTO_INTR_WAIT_FLAGS_FAST), Ok(()));
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(
        w.t.interrupt_wait(_NTO_INTR_WAIT_FLAGS_FAST),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(w.t.interrupt_unmask(27, id), Ok(0));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn unknown_wait_flags_are_einval_and_consume_nothing() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(28, &SigEvent::intr(), 0)
            .unwrap();
    w.k.interrupt_raise(28).unwrap();
    for flags in [4u32, 0x100, 1 << 31, u32::MAX] {
        assert_eq!(w.t.interrupt_wait(flags), Err(Errno::EINVAL), "{flags:#x}");
    }
    assert_eq!(
        level_mask(&w.k, 28),
        1,
        "UNMASK among bad flags unmasked nothing"
    );
    assert_eq!(poll_wait(&w.t), Ok(()), "the pending event is still there");
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ errno paths

#[test]
fn bad_levels_are_einval_for_every_call() {
    let w = one();
    for level in [-1, 256, 257, i32::MAX, i32::MIN] {
        assert_eq!(
            w.t.interrupt_attach_event(level, &SigEvent::intr(), 0),
            Err(Errno::EINVAL),
            "attach_event {level}"
        );
        assert_eq!(
            w.t.interrupt_attach_handler(level, 0),
            Err(Errno::EINVAL),
            "attach_handler {level}"
        );
        assert_eq!(
            w.t.interrupt_mask(level, -1),
            Err(Errno::EINVAL),
            "mask {level}"
        );
        assert_eq!(
            w.t.interrupt_unmask(level, -1),
            Err(Errno::EINVAL),
            "unmask {level}"
        );
        assert_eq!(
            w.k.interrupt_raise(level),
            Err(Errno::EINVAL),
            "raise {level}"
        );
    }
    // The edges are levels.
    for level in [0, 255] {
        let id =
            w.t.interrupt_attach_event(level, &SigEvent::intr(), 0)
                .unwrap();
        assert_eq!(w.k.interrupt_raise(level), Ok(1));
        assert_eq!(w.t.interrupt_unmask(level, id), Ok(0));
        w.t.interrupt_detach(id).unwrap();
    }
    assert_eq!(intrs_live(&w.k), 0);
    w.finish();
}

#[test]
fn unknown_attach_flags_are_einval() {
    let w = one();
    for flags in [0x10u32, 0x40, 0x80, 0x100, 1 << 31, u32::MAX, TRK | 0x40] {
        assert_eq!(
            w.t.interrupt_attach_event(30, &SigEvent::intr(), flags),
            Err(Errno::EINVAL),
            "{flags:#x}"
        );
        assert_eq!(
            w.t.interrupt_attach_handler(30, flags),
            Err(Errno::EINVAL),
            "{flags:#x}"
        );
    }
    assert_eq!(intrs_live(&w.k), 0);
    // Every defined flag together is accepted.
    let id =
        w.t.interrupt_attach_event(30, &SigEvent::intr(), _NTO_INTR_FLAGS_ALL)
            .unwrap();
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn events_the_kernel_could_not_deliver_are_einval_at_attach() {
    let w = one();
    let other = w.t.channel_create(0).unwrap();
    let dead = w.t.connect_attach(0, 0, other, SIDE, 0).unwrap();
    w.t.channel_destroy(other).unwrap();
    let pulses_live = w.k.pool_usage().pulses.live;
    for ev in [
        SigEvent::pulse((SIDE | 77) as i32, 10, 1, 0),
        SigEvent::pulse(dead, 10, 1, 0),
        SigEvent::pulse(w.coid, 0, 1, 0),
        SigEvent::signal(0),
        SigEvent::signal(1000),
        SigEvent {
            sigev_notify: sigev::SIGEV_THREAD,
            ..SigEvent::default()
        },
        SigEvent {
            sigev_notify: 99,
            ..SigEvent::default()
        },
    ] {
        assert_eq!(
            w.t.interrupt_attach_event(31, &ev, 0),
            Err(Errno::EINVAL),
            "{ev:?}"
        );
    }
    assert_eq!(intrs_live(&w.k), 0);
    assert_eq!(
        w.k.pool_usage().pulses.live,
        pulses_live,
        "no pulse reserved"
    );
    w.t.connect_detach(dead).unwrap();
    w.finish();
}

/// Bad ids are EINVAL; InterruptDetach of another process's live attachment is EPERM (QNX 7's
/// errno).
#[test]
fn ids_that_name_no_attachment_of_the_caller_are_einval() {
    let w = one();
    let other = w.k.process_create().unwrap();
    let o = w.k.thread_attach(other, 10).unwrap();
    let mine =
        w.t.interrupt_attach_event(32, &SigEvent::intr(), 0)
            .unwrap();
    let theirs = o.interrupt_attach_event(32, &SigEvent::intr(), 0).unwrap();
    let stale =
        w.t.interrupt_attach_event(33, &SigEvent::intr(), 0)
            .unwrap();
    w.t.interrupt_detach(stale).unwrap();
    let before = w.k.snapshot().interrupts;
    for id in [0, -2, i32::MAX, i32::MIN, stale, theirs] {
        let want = if id == theirs {
            Errno::EPERM
        } else {
            Errno::EINVAL
        };
        assert_eq!(w.t.interrupt_detach(id), Err(want), "detach {id}");
        assert_eq!(w.t.interrupt_mask(32, id), Err(Errno::EINVAL), "mask {id}");
        assert_eq!(
            w.t.interrupt_unmask(32, id),
            Err(Errno::EINVAL),
            "unmask {id}"
        );
        assert_eq!(
            w.t.interrupt_service_done(id, None),
            Err(Errno::EINVAL),
            "service_done {id}"
        );
    }
    // An id of ours on another level.
    assert_eq!(w.t.interrupt_mask(34, mine), Err(Errno::EINVAL));
    assert_eq!(w.t.interrupt_unmask(34, mine), Err(Errno::EINVAL));
    assert_eq!(
        w.k.snapshot().interrupts,
        before,
        "the failures changed nothing"
    );
    // A new attachment does not take the stale id back.
    let fresh =
        w.t.interrupt_attach_event(33, &SigEvent::intr(), 0)
            .unwrap();
    assert_ne!(fresh, stale);
    assert_eq!(w.t.interrupt_detach(stale), Err(Errno::EINVAL));
    for id in [mine, fresh] {
        w.t.interrupt_detach(id).unwrap();
    }
    o.interrupt_detach(theirs).unwrap();
    drop(o);
    w.k.process_destroy(other).unwrap();
    w.finish();
}

#[test]
fn attach_is_eagain_when_the_pool_is_exhausted_and_takes_nothing() {
    let w = one_with(Config::small());
    let cap = w.k.pool_usage().interrupts.capacity;
    assert!(cap >= 1);
    let ids: Vec<i32> = (0..cap)
        .map(|i| {
            w.t.interrupt_attach_event(40 + i as i32, &SigEvent::intr(), 0)
                .unwrap()
        })
        .collect();
    let before = w.k.pool_usage();
    assert_eq!(
        w.t.interrupt_attach_event(60, &SigEvent::intr(), 0),
        Err(Errno::EAGAIN)
    );
    assert_eq!(w.t.interrupt_attach_handler(60, 0), Err(Errno::EAGAIN));
    assert_eq!(
        w.t.interrupt_attach_event(60, &pulse_ev(w.coid, 1, 1), 0),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        w.k.pool_usage(),
        before,
        "nothing taken (no pulse reserved either)"
    );
    w.t.interrupt_detach(ids[0]).unwrap();
    let again =
        w.t.interrupt_attach_event(60, &SigEvent::intr(), 0)
            .unwrap();
    w.t.interrupt_detach(again).unwrap();
    for id in &ids[1..] {
        w.t.interrupt_detach(*id).unwrap();
    }
    assert_eq!(intrs_live(&w.k), 0);
    w.finish();
}

#[test]
fn a_pulse_event_is_eagain_when_no_pulse_is_left_and_takes_no_attachment() {
    let w = one_with(Config::small());
    // Fill the pulse pool with queued pulses.
    let mut sent = 0;
    while w.t.msg_send_pulse(w.coid, 10, 1, 0).is_ok() {
        sent += 1;
        assert!(sent < 10_000);
    }
    assert_eq!(
        w.t.interrupt_attach_event(61, &pulse_ev(w.coid, 1, 1), 0),
        Err(Errno::EAGAIN)
    );
    assert_eq!(intrs_live(&w.k), 0, "no attachment left behind");
    assert_eq!(w.drain(), sent);
    let id =
        w.t.interrupt_attach_event(61, &pulse_ev(w.coid, 1, 1), 0)
            .unwrap();
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ what is shown

#[test]
fn a_thread_in_interrupt_wait_shows_intr_everywhere_with_qnx_state_16() {
    let w = one();
    let bg = spawn(&w.k, w.p, 10, |c| {
        let id = c.interrupt_attach_event(35, &SigEvent::intr(), 0).unwrap();
        let r = wait_intr(c);
        c.interrupt_detach(id).unwrap();
        r
    });
    let ti = wait_intr_blocked(&w.k, w.p.pid, bg.tid);
    assert_eq!(ti.state, ThreadState::Intr);
    assert_eq!(ti.state.qnx_state(), STATE_INTR);
    assert_eq!(STATE_INTR, 16);
    let snap = w.k.snapshot();
    let t = snap
        .threads
        .iter()
        .find(|t| t.pid == w.p.pid && t.tid == bg.tid)
        .unwrap();
    assert_eq!(t.state, ThreadState::Intr);
    assert_eq!(t.state.to_string(), "INTR");
    let listing = w.k.listing().to_string();
    assert!(listing.contains("INTR"), "{listing}");
    w.k.interrupt_raise(35).unwrap();
    assert_eq!(bg.join(), Ok(()));
    w.finish();
}

#[test]
fn the_listing_shows_each_attachment_with_its_level_state_and_the_pool() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(36, &SigEvent::intr(), TRK)
            .unwrap();
    w.k.interrupt_raise(36).unwrap();
    w.k.interrupt_raise(36).unwrap();
    let text = w.k.listing().to_string();
    let line = format!(
        "interrupt 36 id {id} of pid {} tid {}: event SIGEV_INTR, flags 0x8 (_NTO_INTR_FLAGS_TRK_MSK), holds 1 mask, delivered 1; level mask 1 (a request pending), raised 2",
        w.p.pid,
        w.t.tid()
    );
    assert!(text.contains(&line), "expected {line:?} in:\n{text}");
    let cap = w.k.pool_usage().interrupts.capacity;
    assert!(
        text.contains(&format!("1 of {cap} interrupt attachments")),
        "{text}"
    );
    let h = w.t.interrupt_attach_handler(37, 0).unwrap();
    let text = w.k.listing().to_string();
    assert!(
        text.contains(&format!(
            "interrupt 37 id {h} of pid {} tid {}: handler, flags 0x0, holds 0 masks, delivered 0; level mask 0, raised 0",
            w.p.pid,
            w.t.tid()
        )),
        "{text}"
    );
    w.t.interrupt_detach(h).unwrap();
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ teardown, thread exit

#[test]
fn destroying_a_process_blocked_in_interrupt_wait_frees_the_thread_and_its_attachments() {
    let w = one();
    let p2 = w.k.process_create().unwrap();
    let start = live(&w.k);
    let bg = spawn(&w.k, p2, 10, |c| {
        c.interrupt_attach_event(38, &SigEvent::intr(), 0).unwrap();
        c.interrupt_attach_event(39, &SigEvent::intr(), TRK)
            .unwrap();
        c.interrupt_attach_handler(39, 0).unwrap();
        wait_intr(c)
    });
    wait_intr_blocked(&w.k, p2.pid, bg.tid);
    assert_eq!(intrs_live(&w.k), 3);
    w.k.process_destroy(p2).unwrap();
    let bg_tid = bg.tid;
    assert_eq!(bg.join(), Err(Errno::ESRCH));
    assert_eq!(intrs_live(&w.k), 0);
    let mut now = live(&w.k);
    now[0] += 1; // (p2, counted in `start`)
    assert_eq!(now, start, "pools back");
    assert!(w.k.thread_info(p2.pid, bg_tid).is_err(), "thread freed");
    // The levels work for others.
    let id =
        w.t.interrupt_attach_event(39, &SigEvent::intr(), 0)
            .unwrap();
    assert_eq!(w.k.interrupt_raise(39), Ok(1));
    assert_eq!(poll_wait(&w.t), Ok(()));
    w.t.interrupt_detach(id).unwrap();
    w.finish();
}

#[test]
fn after_the_attaching_thread_exits_sigev_intr_goes_nowhere_and_a_pulse_still_reaches_the_process()
{
    let w = one();
    let coid = w.coid;
    let (intr_id, pulse_id) = spawn(&w.k, w.p, 10, move |c| {
        (
            // (Made the process's: without _NTO_INTR_FLAGS_PROCESS they end with the thread.)
            c.interrupt_attach_event(41, &SigEvent::intr(), _NTO_INTR_FLAGS_PROCESS)
                .unwrap(),
            c.interrupt_attach_event(42, &pulse_ev(coid, 4, 44), _NTO_INTR_FLAGS_PROCESS)
                .unwrap(),
        )
    })
    .join();
    assert_eq!(info(&w.k, intr_id).tid, -1, "its thread is gone");
    assert_eq!(w.k.interrupt_raise(41), Ok(1));
    assert_eq!(
        poll_wait(&w.t),
        Err(Errno::ETIMEDOUT),
        "a sibling does not get the dead thread's SIGEV_INTR"
    );
    assert_eq!(w.k.interrupt_raise(42), Ok(1));
    assert_eq!(pulses(&w.t, w.chid), vec![(4, 44)]);
    // The process still owns them: any of its threads unmasks and detaches.
    assert_eq!(w.t.interrupt_unmask(41, intr_id), Ok(0));
    assert_eq!(w.t.interrupt_unmask(42, pulse_id), Ok(0));
    w.t.interrupt_detach(intr_id).unwrap();
    w.t.interrupt_detach(pulse_id).unwrap();
    w.finish();
}

// ------------------------------------------------------------------ the service calls misused

#[test]
fn service_done_without_a_run_under_way_is_einval() {
    let w = one();
    let ev =
        w.t.interrupt_attach_event(43, &SigEvent::intr(), 0)
            .unwrap();
    let h = w.t.interrupt_attach_handler(44, 0).unwrap();
    assert_eq!(
        w.t.interrupt_service_done(ev, None),
        Err(Errno::EINVAL),
        "an event attachment"
    );
    assert_eq!(
        w.t.interrupt_service_done(h, None),
        Err(Errno::EINVAL),
        "never raised"
    );
    assert_eq!(w.k.interrupt_raise(44), Ok(1));
    assert_eq!(level_mask(&w.k, 44), 1, "masked for the run");
    assert_eq!(
        w.t.interrupt_service_done(h, None),
        Err(Errno::EINVAL),
        "queued, not started"
    );
    let bg = spawn(&w.k, w.p, 10, |c| {
        arm(c, _NTO_TIMEOUT_INTR, Some(LONG));
        c.interrupt_service_wait()
    });
    assert_eq!(bg.join(), Ok(h), "the queued run is handed out");
    assert_eq!(
        w.t.interrupt_service_done(h, Some(&SigEvent::intr())),
        Ok(())
    );
    assert_eq!(level_mask(&w.k, 44), 0, "its mask given back");
    assert_eq!(
        poll_wait(&w.t),
        Ok(()),
        "its event reached the attaching thread"
    );
    assert_eq!(
        w.t.interrupt_service_done(h, None),
        Err(Errno::EINVAL),
        "done twice"
    );
    assert_eq!(level_mask(&w.k, 44), 0, "not unmasked twice");
    w.t.interrupt_detach(ev).unwrap();
    w.t.interrupt_detach(h).unwrap();
    w.finish();
}

#[test]
fn with_two_service_threads_each_run_is_handed_to_one() {
    let w = one();
    let h = w.t.interrupt_attach_handler(45, 0).unwrap();
    let waiter = |c: &ThreadCtx| {
        arm(c, _NTO_TIMEOUT_INTR, Some(LONG));
        c.interrupt_service_wait()
    };
    let a = spawn(&w.k, w.p, 10, waiter);
    let b = spawn(&w.k, w.p, 10, waiter);
    wait_intr_blocked(&w.k, w.p.pid, a.tid);
    wait_intr_blocked(&w.k, w.p.pid, b.tid);
    assert_eq!(w.k.interrupt_raise(45), Ok(1));
    wait_until("one service thread to take the run", || {
        a.is_finished() || b.is_finished()
    });
    std::thread::sleep(Duration::from_nanos(SHORT));
    assert!(
        !(a.is_finished() && b.is_finished()),
        "one run went to two service threads"
    );
    let (done, still) = if a.is_finished() { (a, b) } else { (b, a) };
    assert_eq!(done.join(), Ok(h));
    assert_eq!(w.t.interrupt_service_done(h, None), Ok(()));
    // A second run goes to the other.
    assert_eq!(w.k.interrupt_raise(45), Ok(1));
    assert_eq!(still.join(), Ok(h));
    assert_eq!(w.t.interrupt_service_done(h, None), Ok(()));
    assert_eq!(level_mask(&w.k, 45), 0);
    w.t.interrupt_detach(h).unwrap();
    w.finish();
}

/// userlib documents a handler as ordinary code that may make any call: a handler (run by the
/// service thread) that waits for an interrupt of its own with InterruptWait must get its
/// `SIGEV_INTR` as any thread does.
#[test]
fn a_service_thread_in_interrupt_wait_is_readied_by_its_own_sigev_intr() {
    let w = one();
    let h1 = w.t.interrupt_attach_handler(46, 0).unwrap();
    w.k.interrupt_raise(46).unwrap();
    let svc = spawn(&w.k, w.p, 10, move |c| {
        arm(c, _NTO_TIMEOUT_INTR, Some(LONG));
        let got = c.interrupt_service_wait();
        // "The handler": attaches an event of its own and waits for it.
        let e = c.interrupt_attach_event(48, &SigEvent::intr(), 0).unwrap();
        let waited = wait_intr(c);
        c.interrupt_detach(e).unwrap();
        (got, waited, c.interrupt_service_done(h1, None))
    });
    wait_until("the handler to wait", || {
        on_level(&w.k, 48).len() == 1
            && w.k.thread_info(w.p.pid, svc.tid).unwrap().state == ThreadState::Intr
    });
    assert_eq!(w.k.interrupt_raise(48), Ok(1));
    assert_eq!(svc.join(), (Ok(h1), Ok(()), Ok(())));
    w.t.interrupt_detach(h1).unwrap();
    w.finish();
}

/// The same: while the service thread waits in InterruptWait inside a handler, a raise of
/// another handler's level must not end that InterruptWait, and the run must stay queued for
/// the next service wait (else it is lost and its level stays masked).
#[test]
fn a_service_thread_in_interrupt_wait_is_not_handed_another_handlers_run() {
    let w = one();
    let h1 = w.t.interrupt_attach_handler(46, 0).unwrap();
    let h2 = w.t.interrupt_attach_handler(47, 0).unwrap();
    w.k.interrupt_raise(46).unwrap();
    let svc = spawn(&w.k, w.p, 10, move |c| {
        arm(c, _NTO_TIMEOUT_INTR, Some(LONG));
        let got = c.interrupt_service_wait();
        let e = c.interrupt_attach_event(48, &SigEvent::intr(), 0).unwrap();
        arm(c, _NTO_TIMEOUT_INTR, Some(SHORT));
        let waited = c.interrupt_wait(0);
        c.interrupt_detach(e).unwrap();
        (got, waited, c.interrupt_service_done(h1, None))
    });
    wait_until("the handler to wait", || {
        on_level(&w.k, 48).len() == 1
            && w.k.thread_info(w.p.pid, svc.tid).unwrap().state == ThreadState::Intr
    });
    // Another handler's level is raised: its run waits for the next service wait.
    assert_eq!(w.k.interrupt_raise(47), Ok(1));
    assert_eq!(
        svc.join(),
        (Ok(h1), Err(Errno::ETIMEDOUT), Ok(())),
        "the handler's InterruptWait ended only by its timeout"
    );
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(
        w.t.interrupt_service_wait(),
        Ok(h2),
        "the run of the other handler is still to be handed out"
    );
    w.t.interrupt_service_done(h2, None).unwrap();
    assert_eq!(level_mask(&w.k, 47), 0);
    w.t.interrupt_detach(h1).unwrap();
    w.t.interrupt_detach(h2).unwrap();
    w.finish();
}

#[test]
fn detaching_a_handler_with_runs_queued_and_running_gives_their_masks_back() {
    let w = one();
    let h = w.t.interrupt_attach_handler(49, 0).unwrap();
    let keep =
        w.t.interrupt_attach_event(49, &SigEvent::intr(), 0)
            .unwrap();
    assert_eq!(w.k.interrupt_raise(49), Ok(2));
    assert_eq!(level_mask(&w.k, 49), 2);
    // The run is started, then the handler detached while it runs.
    arm(&w.t, _NTO_TIMEOUT_INTR, None);
    assert_eq!(w.t.interrupt_service_wait(), Ok(h));
    w.t.interrupt_detach(h).unwrap();
    assert_eq!(
        level_mask(&w.k, 49),
        1,
        "the run's mask given back at detach"
    );
    assert_eq!(w.t.interrupt_service_done(h, None), Err(Errno::EINVAL));
    assert_eq!(level_mask(&w.k, 49), 1, "and not again at the late done");
    assert_eq!(poll_wait(&w.t), Ok(()));
    assert_eq!(w.t.interrupt_unmask(49, keep), Ok(0));
    w.t.interrupt_detach(keep).unwrap();
    w.finish();
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

    const WITHIN: Duration = Duration::from_secs(20);

    fn join(path: &str) -> (Kernel, Pid, ThreadCtx) {
        let k = Kernel::open_shared(Path::new(path)).expect("open_shared");
        let p = k.process_attach_self().expect("process_attach_self");
        let t = k.thread_attach(p, 10).expect("thread_attach");
        (k, p, t)
    }

    fn res<T: std::fmt::Debug>(r: KResult<T>) -> String {
        match r {
            Ok(v) => format!("ok:{v:?}"),
            Err(e) => e.name().unwrap_or("?").to_string(),
        }
    }

    /// "path level flags": attaches a SIGEV_INTR to `level`, says "ready TID ID", waits
    /// (bounded), says "waited RESULT", then (flags without TRK_MSK) unmasks and says
    /// "unmask RESULT", detaches and leaves; with TRK_MSK it holds the mask until killed.
    fn waiter(arg: &str) {
        let mut it = arg.split(' ');
        let path = it.next().unwrap();
        let level: i32 = it.next().unwrap().parse().unwrap();
        let flags: u32 = it.next().unwrap().parse().unwrap();
        let (k, p, t) = join(path);
        let id = t
            .interrupt_attach_event(level, &SigEvent::intr(), flags)
            .unwrap();
        tell_parent(&format!("ready {} {id}", t.tid()));
        tell_parent(&format!("waited {}", res(wait_intr(&t))));
        if flags & TRK != 0 {
            std::thread::sleep(Duration::from_secs(60));
        }
        tell_parent(&format!("unmask {}", res(t.interrupt_unmask(level, id))));
        t.interrupt_detach(id).unwrap();
        drop(t);
        k.process_destroy(p).unwrap();
    }

    /// "path level": raises `level` and says "raised RESULT".
    fn raiser(arg: &str) {
        let (path, level) = arg.split_once(' ').unwrap();
        let k = Kernel::open_shared(Path::new(path)).expect("open_shared");
        tell_parent(&format!(
            "raised {}",
            res(k.interrupt_raise(level.parse().unwrap()))
        ));
    }

    pub(super) fn child(role: &str, arg: &str) {
        match role {
            "waiter" => waiter(arg),
            "raiser" => raiser(arg),
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

    fn ready(c: &Child) -> (i32, i32) {
        let line = c.line(WITHIN);
        let v: Vec<i32> = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("{line:?}"))
            .split(' ')
            .map(|s| s.parse().unwrap())
            .collect();
        (v[0], v[1])
    }

    #[test]
    fn a_raise_in_one_program_wakes_interrupt_wait_in_another() {
        let dir = TempDir::new("intr-wake");
        let (k, path, me, t) = parent(&dir);
        let c = Child::spawn("waiter", &format!("{path} 50 0"));
        let (tid, id) = ready(&c);
        assert!(id > 0);
        wait_intr_blocked(&k, c.pid(), tid);
        assert_eq!(k.interrupt_raise(50), Ok(1));
        assert_eq!(c.line(WITHIN), "waited ok:()");
        assert_eq!(c.line(WITHIN), "unmask ok:0");
        assert!(c.wait(WITHIN).success());
        assert_eq!(intrs_live(&k), 0);
        drop(t);
        k.process_destroy(me).unwrap();
    }

    #[test]
    fn a_raise_from_another_program_reaches_our_interrupt_wait() {
        let dir = TempDir::new("intr-raise");
        let (k, path, me, t) = parent(&dir);
        let id = t.interrupt_attach_event(51, &SigEvent::intr(), 0).unwrap();
        let c = Child::spawn("raiser", &format!("{path} 51"));
        assert_eq!(wait_intr(&t), Ok(()));
        assert_eq!(c.line(WITHIN), "raised ok:1");
        assert!(c.wait(WITHIN).success());
        assert_eq!(t.interrupt_unmask(51, id), Ok(0));
        t.interrupt_detach(id).unwrap();
        drop(t);
        k.process_destroy(me).unwrap();
    }

    #[test]
    fn a_killed_program_reaped_gives_back_its_trk_msk_mask_and_the_latched_request_comes() {
        let dir = TempDir::new("intr-reap");
        let (k, path, me, t) = parent(&dir);
        let c = Child::spawn("waiter", &format!("{path} 52 {TRK}"));
        let (_tid, cid) = ready(&c);
        let mine = t.interrupt_attach_event(52, &SigEvent::intr(), 0).unwrap();
        assert_eq!(k.interrupt_raise(52), Ok(2));
        assert_eq!(c.line(WITHIN), "waited ok:()");
        assert_eq!(wait_intr(&t), Ok(()));
        assert_eq!(
            t.interrupt_unmask(52, mine),
            Ok(1),
            "the child holds its mask"
        );
        assert_eq!(k.interrupt_raise(52), Ok(0), "latched");
        assert_eq!(info(&k, cid).masks, 1);
        let pid = c.pid();
        c.kill();
        assert_eq!(k.reap_os_process(pid), 1);
        assert_eq!(intrs_live(&k), 1);
        assert_eq!(wait_intr(&t), Ok(()), "the latched request reached us");
        assert_eq!(t.interrupt_unmask(52, mine), Ok(0));
        t.interrupt_detach(mine).unwrap();
        drop(t);
        k.process_destroy(me).unwrap();
    }
}

#[test]
fn a_level_left_masked_with_nothing_attached_is_listed() {
    let w = one();
    let id =
        w.t.interrupt_attach_event(77, &SigEvent::intr(), 0)
            .unwrap();
    assert_eq!(w.k.interrupt_raise(77), Ok(1));
    assert_eq!(w.k.interrupt_raise(77), Ok(0), "latched");
    w.t.interrupt_detach(id).unwrap(); // without _NTO_INTR_FLAGS_TRK_MSK: the mask stays
    let s = w.k.snapshot();
    assert!(s.interrupts.is_empty());
    assert_eq!(
        s.masked_levels,
        vec![kernel_sim::info::MaskedLevel {
            level: 77,
            mask: 1,
            pending: true
        }]
    );
    let text = w.k.listing().to_string();
    assert!(
        text.contains("interrupt 77: no attachment; level mask 1 (a request pending)"),
        "{text}"
    );
    assert_eq!(w.t.interrupt_unmask(77, -1), Ok(0));
    assert!(
        w.k.snapshot().masked_levels.is_empty(),
        "unmasked: the request dropped"
    );
    w.t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None)
        .unwrap();
    // (The first raise's SIGEV_INTR is still the thread's.)
    assert_eq!(w.t.interrupt_wait(0), Ok(()));
    w.finish();
}
