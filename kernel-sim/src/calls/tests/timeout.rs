//! Kernel timeouts: TimerTimeout, the deadline a blocked thread sleeps against, and expiry.

use super::{done, Bench, Buf, Entry, Out};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::{MsgInfo, SigEvent};
use crate::calls::timeout::{deadline_for, fire, timer_timeout, TimeoutRequest};
use crate::calls::{Caller, Effects, Step};
use crate::objects::thread::{CallResult, TimeoutArm};
use crate::objects::KState;
use crate::wait::{Clock, Deadline};

fn request(flags: u32, ntime: Option<u64>, now: u64) -> TimeoutRequest {
    TimeoutRequest {
        clock: CLOCK_MONOTONIC,
        flags,
        event: None,
        ntime,
        now,
    }
}

/// TimerTimeout as its own kernel call (the entry first puts the last arm in force).
fn arm(b: &Bench, c: Caller, req: TimeoutRequest) -> Result<Step, Errno> {
    b.enter(c);
    b.run(|t, fx| timer_timeout(t, c, req, fx)).0
}

fn armed(b: &Bench, c: Caller) -> TimeoutArm {
    b.tables(|t| t.threads.at(c.thread.index).timeout_next)
}

fn deadline(b: &Bench, c: Caller) -> Option<Deadline> {
    b.tables(|t| deadline_for(t.threads.at(c.thread.index)))
}

fn fire_now(b: &Bench, c: Caller) -> (Option<CallResult>, Effects) {
    let mut fx = Effects::default();
    let r = b.tables(|t| fire(t, c.thread.index, &mut fx));
    b.check();
    (r, fx)
}

#[test]
fn timer_timeout_arms_the_next_call_and_returns_the_flags_it_replaces() {
    let b = Bench::new();
    let me = b.spawn(10);
    let both = _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY;
    assert_eq!(
        arm(&b, me, request(both, Some(1_000), 5_000)),
        Ok(Step::Done(0))
    );
    let a = armed(&b, me);
    assert_eq!((a.states, a.clock, a.deadline), (both, 0, 6_000));
    assert_eq!(a.event.kind(), SigEvent::unblock().kind());

    // Absolute, on the realtime clock; the flags replaced are those of the arm in force.
    let req = TimeoutRequest {
        clock: CLOCK_REALTIME,
        ..request(
            _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME | _NTO_TIMEOUT_ACTIVE,
            Some(9_000),
            5_000,
        )
    };
    assert_eq!(arm(&b, me, req), Ok(Step::Done(both as i64)));
    let a = armed(&b, me);
    assert_eq!(
        (a.states, a.clock, a.deadline),
        (_NTO_TIMEOUT_RECEIVE, 1, 9_000)
    );

    // No time: expire at once (a poll).
    assert_eq!(
        arm(&b, me, request(_NTO_TIMEOUT_SEND, None, 5_000)),
        Ok(Step::Done(_NTO_TIMEOUT_RECEIVE as i64))
    );
    assert_eq!(armed(&b, me).deadline, 0);
    // No states: nothing armed.
    assert_eq!(
        arm(&b, me, request(0, Some(1), 5_000)),
        Ok(Step::Done(_NTO_TIMEOUT_SEND as i64))
    );
    assert_eq!(armed(&b, me), TimeoutArm::NONE);
}

#[test]
fn timer_timeout_refuses_a_bad_clock_or_event_and_leaves_the_arm_alone() {
    let b = Bench::new();
    let me = b.spawn(10);
    assert_eq!(
        arm(&b, me, request(_NTO_TIMEOUT_SEND, Some(5), 0)),
        Ok(Step::Done(0))
    );
    let before = armed(&b, me);
    let bad_clock = TimeoutRequest {
        clock: 5,
        ..request(_NTO_TIMEOUT_RECEIVE, Some(1), 0)
    };
    assert_eq!(
        b.run(|t, fx| timer_timeout(t, me, bad_clock, fx)).0,
        Err(Errno::EINVAL)
    );
    let bad_event = TimeoutRequest {
        event: Some(SigEvent::pulse(3, 10, 1, 1)),
        ..request(_NTO_TIMEOUT_RECEIVE, Some(1), 0)
    };
    assert_eq!(
        b.run(|t, fx| timer_timeout(t, me, bad_event, fx)).0,
        Err(Errno::EINVAL),
        "a pulse on a coid that is no connection: an event it could not deliver"
    );
    assert_eq!(armed(&b, me), before);
}

#[test]
fn deadline_for_applies_only_in_the_states_the_timeout_covers() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    done(arm(
        &b,
        client,
        request(_NTO_TIMEOUT_SEND, Some(100), 1_000),
    ));
    b.enter(client);
    assert_eq!(deadline(&b, client), None, "running");
    assert_eq!(
        b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(
        deadline(&b, client),
        Some(Deadline {
            clock: Clock::Monotonic,
            nsec: 1_100
        })
    );
    done(b.receive(server, chid, Buf::zeroed(4), 0).0);
    assert_eq!(deadline(&b, client), None, "REPLY-blocked: not covered");

    let req = TimeoutRequest {
        clock: CLOCK_REALTIME,
        ..request(_NTO_TIMEOUT_RECEIVE, Some(7), 0)
    };
    done(arm(&b, server, req));
    b.enter(server);
    assert_eq!(
        b.receive(server, chid, Buf::zeroed(4), 0).0,
        Ok(Step::Block)
    );
    assert_eq!(
        deadline(&b, server),
        Some(Deadline {
            clock: Clock::Realtime,
            nsec: 7
        })
    );
}

#[test]
fn fire_times_out_a_send_blocked_client_and_takes_it_off_the_queue() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    done(arm(&b, client, request(_NTO_TIMEOUT_SEND, None, 0)));
    b.enter(client);
    assert_eq!(
        b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(b.queued(ch), 1);

    let (r, fx) = fire_now(&b, client);
    assert_eq!(r, Some(CallResult::Err(Errno::ETIMEDOUT.0)));
    assert!(fx.wake.is_empty(), "it is the thread running this");
    assert_eq!(b.state(client), KState::Running);
    assert_eq!(b.queued(ch), 0, "the server never saw it");
    assert_eq!(
        b.tables(|t| t.threads.at(client.thread.index).send.coid),
        -1
    );
}

#[test]
fn fire_times_out_a_receive_blocked_server() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    done(arm(&b, server, request(_NTO_TIMEOUT_RECEIVE, Some(10), 0)));
    b.enter(server);
    assert_eq!(
        b.receive(server, chid, Buf::zeroed(4), 0).0,
        Ok(Step::Block)
    );
    assert_eq!(
        fire_now(&b, server).0,
        Some(CallResult::Err(Errno::ETIMEDOUT.0))
    );
    assert_eq!(b.receivers(ch), 0);
    assert_eq!(b.state(server), KState::Running);
}

#[test]
fn fire_releases_a_reply_blocked_client_of_a_channel_without_unblock() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    done(arm(&b, client, request(_NTO_TIMEOUT_REPLY, Some(10), 0)));
    b.enter(client);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);
    assert_eq!(
        fire_now(&b, client).0,
        Some(CallResult::Err(Errno::ETIMEDOUT.0))
    );
    assert_eq!(b.state(client), KState::Running);
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Err(Errno::ESRCH));
}

#[test]
fn fire_keeps_a_reply_blocked_client_of_an_unblock_channel_and_the_server_gets_the_unblock_pulse() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(14);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    done(arm(
        &b,
        client,
        request(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(10), 0),
    ));
    b.enter(client);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);

    let (r, fx) = fire_now(&b, client);
    assert_eq!(r, None, "it stays for the server's answer");
    assert!(fx.wake.is_empty());
    assert!(matches!(b.state(client), KState::Reply { .. }));
    assert_eq!(
        b.tables(|t| t.threads.at(client.thread.index).timeout_cur.states),
        0,
        "spent"
    );
    assert_eq!(deadline(&b, client), None);
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_UNBLOCK,
            value: rcvid as u64,
            prio: 14
        }]
    );
    let info = Out::<MsgInfo>::default();
    done(
        b.run(|t, _| crate::calls::srr::msg_info(t, server, rcvid, info.addr()))
            .0,
    );
    assert_eq!(info.get().flags & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);

    // The server takes the pulse, then passes the reason on: MsgError(rcvid, -1).
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!(
        (rbuf.pulse().code, rbuf.pulse().value as i64),
        (_PULSE_CODE_UNBLOCK, rcvid)
    );
    assert_eq!(b.error(server, rcvid, -1).0, Ok(Step::Done(0)));
    assert_eq!(b.result(client), CallResult::Err(Errno::ETIMEDOUT.0));
    assert_eq!(b.live().pulses, 0);
}

#[test]
fn a_client_whose_unblock_pulse_cannot_be_queued_is_released_at_once() {
    let b = Bench::with_config(crate::region::Config {
        max_pulses: 1,
        ..crate::region::Config::small()
    });
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK);
    let coid = b.attach(client, server, chid);
    let own = b.attach(server, server, chid);
    done(arm(&b, client, request(_NTO_TIMEOUT_REPLY, Some(10), 0)));
    b.enter(client);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), Buf::zeroed(4));
    assert_eq!(
        b.pulse(server, own, 10, 1, 0).0,
        Ok(Step::Done(0)),
        "the last pulse"
    );
    assert_eq!(
        fire_now(&b, client).0,
        Some(CallResult::Err(Errno::ETIMEDOUT.0))
    );
    assert_eq!(b.state(client), KState::Running);
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Err(Errno::ESRCH));
}

#[test]
fn the_servers_answer_stands_after_a_timeout_and_removes_the_unanswered_unblock_pulse() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    done(arm(&b, client, request(_NTO_TIMEOUT_REPLY, Some(10), 0)));
    b.enter(client);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);
    assert_eq!(fire_now(&b, client).0, None);
    assert_eq!(b.queued(ch), 1);

    assert_eq!(
        b.reply(server, rcvid, 3, Buf::new(b"ok")).0,
        Ok(Step::Done(0))
    );
    assert_eq!(b.result(client), CallResult::Ok(3), "a timeout only asks");
    assert_eq!(&reply.bytes()[..2], b"ok");
    assert_eq!((b.queued(ch), b.live().pulses), (0, 0));
}

#[test]
fn a_receive_nudges_a_client_whose_timeout_covers_reply_only() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    done(arm(&b, client, request(_NTO_TIMEOUT_REPLY, Some(10), 0)));
    b.enter(client);
    assert_eq!(
        b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(deadline(&b, client), None, "no deadline while it queues");
    let word = b.word(client);

    let (r, fx) = b.receive(server, chid, Buf::zeroed(4), 0);
    assert!(matches!(r, Ok(Step::Done(rcvid)) if rcvid > 0));
    assert_eq!(
        &fx.wake[..],
        &[client.thread.index],
        "woken to take up its deadline"
    );
    assert_eq!(b.word(client), word + 1);
    assert!(
        matches!(b.state(client), KState::Reply { .. }),
        "not readied"
    );
    assert_eq!(deadline(&b, client).map(|d| d.nsec), Some(10));

    // A client whose timeout also covers SEND already sleeps with its deadline: no nudge.
    let other = b.thread(client.proc, 10);
    done(arm(
        &b,
        other,
        request(_NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(10), 0),
    ));
    b.enter(other);
    assert_eq!(
        b.send(other, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    let (_, fx) = b.receive(server, chid, Buf::zeroed(4), 0);
    assert!(fx.wake.is_empty());
}

#[test]
fn fire_with_a_pulse_event_delivers_it_and_the_thread_waits_on() {
    let b = Bench::new();
    let (cp, _) = b.process();
    let client = b.thread(cp, 10);
    let listener = b.thread(cp, 10);
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let own = b.channel(client, 0);
    let own_coid = b.attach(client, client, own);
    let req = TimeoutRequest {
        event: Some(SigEvent::pulse(own_coid, 20, 5, 55)),
        ..request(_NTO_TIMEOUT_SEND, Some(10), 0)
    };
    assert_eq!(arm(&b, client, req), Ok(Step::Done(0)));
    b.enter(client);
    assert_eq!(
        b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(listener, own, rbuf, 0).0, Ok(Step::Block));

    let (r, fx) = fire_now(&b, client);
    assert_eq!(r, None);
    assert_eq!(&fx.wake[..], &[listener.thread.index]);
    assert_eq!((rbuf.pulse().code, rbuf.pulse().value), (5, 55));
    assert_eq!(
        b.state(client),
        KState::Send {
            chan: b.chan(server, chid)
        }
    );
    assert_eq!(deadline(&b, client), None, "the timeout is spent");
}

#[test]
fn fire_whose_pulse_readies_the_receiving_thread_itself_returns_its_result_without_a_wake() {
    let b = Bench::new();
    let me = b.spawn(10);
    let chid = b.channel(me, 0);
    let coid = b.attach(me, me, chid);
    let req = TimeoutRequest {
        event: Some(SigEvent::pulse(coid, 10, 6, 66)),
        ..request(_NTO_TIMEOUT_RECEIVE, Some(10), 0)
    };
    done(arm(&b, me, req));
    b.enter(me);
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(me, chid, rbuf, 0).0, Ok(Step::Block));
    let word = b.word(me);

    let (r, fx) = fire_now(&b, me);
    assert_eq!(
        r,
        Some(CallResult::Ok(0)),
        "it received its own timeout's pulse"
    );
    assert!(fx.wake.is_empty(), "no wake-up for the thread running this");
    assert_eq!(b.state(me), KState::Running);
    assert_eq!(rbuf.pulse().code, 6);
    assert_eq!(b.word(me), word + 1);
}

#[test]
fn timer_timeout_with_nanosleep_sleeps_nanosleep_blocked_and_leaves_nothing_armed() {
    let b = Bench::new();
    let me = b.spawn(10);
    let chid = b.channel(me, 0);
    let coid = b.attach(me, me, chid);
    done(arm(&b, me, request(_NTO_TIMEOUT_RECEIVE, Some(1_000), 0)));
    // The kernel half of nanosleep(): NANOSLEEP-blocked until its own deadline, whatever other
    // states come with it; the arm made before is spent, nothing is left for the next call.
    let now = Deadline::now_ns(Clock::Monotonic);
    let flags = _NTO_TIMEOUT_NANOSLEEP | _NTO_TIMEOUT_RECEIVE;
    let req = TimeoutRequest {
        event: Some(SigEvent::pulse(coid, 10, 7, 77)),
        ..request(flags, Some(5_000_000_000), now)
    };
    assert_eq!(arm(&b, me, req), Ok(Step::Block));
    assert_eq!(b.state(me), KState::Nanosleep);
    assert_eq!(armed(&b, me).states, 0);
    let d = deadline(&b, me).expect("the sleep's deadline");
    assert_eq!((d.clock, d.nsec), (Clock::Monotonic, now + 5_000_000_000));
    // At its deadline: 0 (not ETIMEDOUT, not the flags it replaced), its event delivered.
    let (r, _) = fire_now(&b, me);
    assert_eq!(r, Some(CallResult::Ok(0)));
    assert_eq!(b.state(me), KState::Running);
    assert_eq!(deadline(&b, me), None);
    b.enter(me);
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(me, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!((rbuf.pulse().code, rbuf.pulse().value), (7, 77));
    assert_eq!(
        arm(&b, me, request(_NTO_TIMEOUT_RECEIVE, None, 0)),
        Ok(Step::Done(0)),
        "nothing was in force after it"
    );
    // No time, or a time already past: 0 at once, never blocked.
    for ntime in [None, Some(0), Some(5_000)] {
        assert_eq!(
            arm(&b, me, request(_NTO_TIMEOUT_NANOSLEEP, ntime, 1)),
            Ok(Step::Done(0)),
            "{ntime:?}"
        );
        assert_eq!(b.state(me), KState::Running);
    }
    // Its clock and event are checked as any arming's.
    let bad = TimeoutRequest {
        clock: 7,
        ..request(_NTO_TIMEOUT_NANOSLEEP, Some(1), 0)
    };
    assert_eq!(arm(&b, me, bad), Err(Errno::EINVAL));
}

#[test]
fn a_nanosleep_is_ended_by_a_signal_with_eintr() {
    use crate::calls::srr::{force_ready, Why};
    let b = Bench::new();
    let me = b.spawn(10);
    let now = Deadline::now_ns(Clock::Monotonic);
    let sleep = request(_NTO_TIMEOUT_NANOSLEEP, Some(60_000_000_000), now);
    assert_eq!(arm(&b, me, sleep), Ok(Step::Block));
    let mut fx = Effects::default();
    let r = b.tables(|t| force_ready(t, me.thread.index, Why::Signal, &mut fx));
    assert_eq!(r, Some(CallResult::Err(Errno::EINTR.0)));
    assert_eq!(b.state(me), KState::Running);
    b.check();
}
