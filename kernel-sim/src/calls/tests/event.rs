//! MsgDeliverEvent and MsgVerifyEvent.

use super::{Bench, Buf, Entry};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::{RcvId, SigEvent};
use crate::calls::event::{msg_deliver_event, msg_verify_event, signal_kill, SignalOut};
use crate::calls::{process, Caller, Effects, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;

/// A server and a client that has a channel of its own with a coid to it (where its events'
/// pulses arrive), the client REPLY-blocked on the server.
struct Scene {
    b: Bench,
    server: Caller,
    chid: i32,
    client: Caller,
    /// The client's coid to the server.
    coid: i32,
    /// The client's own channel and its coid to it.
    own_chid: i32,
    own_coid: i32,
    rcvid: RcvId,
}

fn scene(server_flags: u32) -> Scene {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(12);
    let chid = b.channel(server, server_flags);
    let own_chid = b.channel(client, 0);
    let own_coid = b.attach(client, client, own_chid);
    let coid = b.attach(client, server, chid);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"ev"), Buf::zeroed(4));
    Scene {
        b,
        server,
        chid,
        client,
        coid,
        own_chid,
        own_coid,
        rcvid,
    }
}

fn deliver(b: &Bench, me: Caller, rcvid: RcvId, ev: SigEvent) -> (Result<Step, Errno>, Effects) {
    b.run(|t, fx| msg_deliver_event(t, me, rcvid, &ev, fx))
}

fn verify(b: &Bench, me: Caller, rcvid: RcvId, ev: SigEvent) -> Result<Step, Errno> {
    b.run(|t, fx| msg_verify_event(t, me, rcvid, &ev, fx)).0
}

#[test]
fn deliver_event_pulse_goes_to_the_clients_connection_before_and_after_the_reply() {
    let s = scene(0);
    let b = &s.b;
    let own = b.chan(s.client, s.own_chid);
    let scoid = b.scoid(s.client, s.own_coid);
    let (r, fx) = deliver(b, s.server, s.rcvid, SigEvent::pulse(s.own_coid, 15, 7, 99));
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert_eq!(
        b.sendq(own),
        [Entry::Pulse {
            code: 7,
            value: 99,
            prio: 15
        }]
    );
    assert!(
        matches!(b.state(s.client), KState::Reply { .. }),
        "a pulse does not unblock"
    );

    // After the reply the rcvid still names the client for events; priority -1 is its base.
    assert_eq!(
        b.reply(s.server, s.rcvid, 0, Buf::empty()).0,
        Ok(Step::Done(0))
    );
    b.collect(s.client);
    let (r, _) = deliver(b, s.server, s.rcvid, SigEvent::pulse(s.own_coid, -1, 8, 1));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(b.queued(own), 2);

    // A client waiting on its channel takes it at once.
    let rbuf = Buf::zeroed(32);
    for code in [7, 8] {
        assert_eq!(
            b.receive(s.client, s.own_chid, rbuf, 0).0,
            Ok(Step::Done(0))
        );
        assert_eq!((rbuf.pulse().code, rbuf.pulse().scoid), (code, scoid));
    }
    assert_eq!(b.receive(s.client, s.own_chid, rbuf, 0).0, Ok(Step::Block));
    let (_, fx) = deliver(b, s.server, s.rcvid, SigEvent::pulse(s.own_coid, 20, 9, 3));
    assert_eq!(&fx.wake[..], &[s.client.thread.index]);
    assert_eq!(b.result(s.client), CallResult::Ok(0));
    assert_eq!(rbuf.pulse().code, 9);
    assert_eq!(b.prio(s.client), 20);
}

#[test]
fn deliver_event_unblock_releases_a_reply_blocked_client_with_etimedout() {
    let s = scene(0);
    let b = &s.b;
    let (r, fx) = deliver(b, s.server, s.rcvid, SigEvent::unblock());
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[s.client.thread.index]);
    assert_eq!(b.result(s.client), CallResult::Err(Errno::ETIMEDOUT.0));
    assert_eq!(
        b.reply(s.server, s.rcvid, 0, Buf::empty()).0,
        Err(Errno::ESRCH)
    );
    // A running target is left alone.
    b.collect(s.client);
    assert_eq!(
        deliver(b, s.server, s.rcvid, SigEvent::unblock()).0,
        Ok(Step::Done(0))
    );
    assert_eq!(b.state(s.client), KState::Running);
}

#[test]
fn deliver_event_unblock_on_an_unblock_channel_asks_the_server_and_the_client_stays() {
    let s = scene(_NTO_CHF_UNBLOCK);
    let b = &s.b;
    let ch = b.chan(s.server, s.chid);
    let (r, fx) = deliver(b, s.server, s.rcvid, SigEvent::unblock());
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert!(matches!(b.state(s.client), KState::Reply { .. }));
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_UNBLOCK,
            value: s.rcvid as u64,
            prio: 12
        }]
    );
}

#[test]
fn deliver_event_signal_is_an_effect_for_the_client_process() {
    let s = scene(0);
    let b = &s.b;
    let (r, fx) = deliver(
        b,
        s.server,
        s.rcvid,
        SigEvent::signal_value(libc::SIGUSR1, 5),
    );
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(
        &fx.signals[..],
        &[SignalOut {
            os_pid: 0,
            proc: s.client.proc,
            pid: b.pid(s.client),
            os_tid: 0,
            signo: libc::SIGUSR1,
            code: SI_QUEUE,
            value: 5,
            to_process: false,
        }]
    );
    assert!(fx.wake.is_empty());
}

#[test]
fn verify_event_checks_without_delivering_and_refuses_bad_events() {
    let s = scene(0);
    let b = &s.b;
    let own = b.chan(s.client, s.own_chid);
    let (srv, rcvid, coid) = (s.server, s.rcvid, s.own_coid);
    assert_eq!(
        verify(b, srv, rcvid, SigEvent::pulse(coid, 10, 1, 1)),
        Ok(Step::Done(0))
    );
    assert_eq!(
        verify(b, srv, rcvid, SigEvent::unblock()),
        Ok(Step::Done(0))
    );
    assert_eq!(
        verify(b, srv, rcvid, SigEvent::signal(libc::SIGUSR2)),
        Ok(Step::Done(0))
    );
    assert_eq!(verify(b, srv, rcvid, SigEvent::none()), Ok(Step::Done(0)));
    assert_eq!(b.queued(own), 0, "verified, not delivered");
    assert!(matches!(b.state(s.client), KState::Reply { .. }));

    let bad = [
        (SigEvent::pulse(coid, 0, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(coid, 256, 1, 1), Errno::EINVAL),
        (SigEvent::pulse(coid + 5, 10, 1, 1), Errno::ESRCH),
        (SigEvent::signal(0), Errno::EINVAL),
        (SigEvent::signal(65), Errno::EINVAL),
        (SigEvent::signal_code(libc::SIGUSR1, 0, 1), Errno::EINVAL),
        (
            SigEvent::signal_thread(libc::SIGUSR1, 0, SI_TKILL as i16),
            Errno::EINVAL,
        ),
        (
            SigEvent {
                sigev_notify: 7,
                ..SigEvent::none()
            },
            Errno::EBUSY,
        ),
        (
            SigEvent {
                sigev_notify: 42,
                ..SigEvent::none()
            },
            Errno::EINVAL,
        ),
    ];
    for (ev, err) in bad {
        assert_eq!(verify(b, srv, rcvid, ev), Err(err), "{ev:?}");
        assert_eq!(deliver(b, srv, rcvid, ev).0, Err(err), "{ev:?}");
    }
    assert_eq!(b.queued(own), 0);

    // The pulse's channel gone (destroyed by another thread of the client): EBADF.
    let sibling = b.thread(s.client.proc, 10);
    let (r, _) = b.run(|t, fx| crate::calls::channel::channel_destroy(t, sibling, s.own_chid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(
        verify(b, srv, rcvid, SigEvent::pulse(coid, 10, 1, 1)),
        Err(Errno::EBADF)
    );
}

#[test]
fn deliver_event_for_an_rcvid_that_is_not_ours_is_esrch() {
    let s = scene(0);
    let b = &s.b;
    let other = b.spawn(10);
    let ev = SigEvent::pulse(s.own_coid, 10, 1, 1);
    assert_eq!(
        deliver(b, other, s.rcvid, ev).0,
        Err(Errno::ESRCH),
        "another server"
    );
    for rcvid in [-1, crate::calls::rcvid_make(6, 0), s.rcvid + (1 << 15)] {
        assert_eq!(
            deliver(b, s.server, rcvid, ev).0,
            Err(Errno::ESRCH),
            "{rcvid:#x}"
        );
        assert_eq!(verify(b, s.server, rcvid, ev), Err(Errno::ESRCH));
    }
    assert_eq!(b.queued(b.chan(s.client, s.own_chid)), 0);
}

#[test]
fn deliver_event_to_rcvid_zero_goes_to_the_caller() {
    let b = Bench::new();
    let me = b.spawn(10);
    let chid = b.channel(me, 0);
    let coid = b.attach(me, me, chid);
    let (r, _) = deliver(&b, me, 0, SigEvent::pulse(coid, 10, 4, 44));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(
        b.sendq(b.chan(me, chid)),
        [Entry::Pulse {
            code: 4,
            value: 44,
            prio: 10
        }]
    );
}

#[test]
fn an_event_for_a_client_thread_that_exited_goes_to_its_process_but_not_unblock() {
    let s = scene(0);
    let b = &s.b;
    let sibling = b.thread(s.client.proc, 10);
    let own = b.chan(s.client, s.own_chid);
    assert_eq!(
        b.reply(s.server, s.rcvid, 0, Buf::empty()).0,
        Ok(Step::Done(0))
    );
    b.collect(s.client);
    let _ = b.run(|t, fx| {
        process::thread_destroy(t, s.client.thread, fx);
        Ok(Step::Done(0))
    });
    let (r, _) = deliver(b, s.server, s.rcvid, SigEvent::pulse(s.own_coid, 10, 6, 0));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(
        b.sendq(own),
        [Entry::Pulse {
            code: 6,
            value: 0,
            prio: 10
        }]
    );
    assert_eq!(
        deliver(b, s.server, s.rcvid, SigEvent::unblock()).0,
        Err(Errno::ESRCH)
    );
    assert_eq!(b.state(sibling), KState::Running);
}

/// QNX's MsgDeliverEvent fails with EBADF when "the thread indicated by rcvid had its
/// connection detached": once the client's last link to the server is gone, a client thread
/// that is still alive gets no event (an exited thread's rcvid then gives ESRCH).
#[test]
fn deliver_event_to_a_client_that_detached_is_ebadf() {
    let s = scene(0);
    let b = &s.b;
    assert_eq!(
        b.reply(s.server, s.rcvid, 0, Buf::empty()).0,
        Ok(Step::Done(0))
    );
    b.collect(s.client);
    let (r, _) = b.run(|t, fx| crate::calls::connect::connect_detach(t, s.client, s.coid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    let own = b.chan(s.client, s.own_chid);
    let r = deliver(b, s.server, s.rcvid, SigEvent::pulse(s.own_coid, 10, 1, 0)).0;
    assert_eq!(
        r,
        Err(Errno::EBADF),
        "QNX: the rcvid's connection was detached"
    );
    assert_eq!(b.queued(own), 0);
}

#[test]
fn signal_kill_checks_its_target_and_records_the_signal_as_an_effect() {
    let b = Bench::new();
    let me = b.spawn(10);
    let (p, pid) = b.process();
    b.thread(p, 10);
    b.thread(p, 10);
    let kill =
        |nd, pid, tid, signo| b.run(|t, fx| signal_kill(t, me, nd, pid, tid, signo, -3, 7, fx));
    assert_eq!(kill(1, pid, 0, libc::SIGUSR1).0, Err(Errno::ENOREMOTE));
    assert_eq!(kill(0, pid, 0, 65).0, Err(Errno::EINVAL));
    assert_eq!(kill(0, pid, 0, -1).0, Err(Errno::EINVAL));
    assert_eq!(kill(0, 9999, 0, libc::SIGUSR1).0, Err(Errno::ESRCH));
    assert_eq!(
        kill(0, pid, 3, libc::SIGUSR1).0,
        Err(Errno::ESRCH),
        "no tid 3"
    );
    let (r, fx) = kill(0, pid, 2, 0);
    assert_eq!(r, Ok(Step::Done(0)), "signal 0 only checks");
    assert!(fx.signals.is_empty());

    let (r, fx) = kill(0, pid, 2, libc::SIGUSR2);
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(
        &fx.signals[..],
        &[SignalOut {
            os_pid: 0,
            proc: p,
            pid,
            os_tid: 0,
            signo: libc::SIGUSR2,
            code: -3,
            value: 7,
            to_process: false,
        }]
    );
    // pid 0: the caller's own process.
    let (_, fx) = kill(0, 0, 0, libc::SIGUSR1);
    assert_eq!(fx.signals[0].proc, me.proc);
}

#[test]
fn signal_kill_takes_si_user_and_negative_codes_and_refuses_the_kernels() {
    let b = Bench::new();
    let me = b.spawn(10);
    let (p, pid) = b.process();
    b.thread(p, 10);
    let kill = |code| b.run(|t, fx| signal_kill(t, me, 0, pid, 0, libc::SIGUSR1, code, 9, fx));
    for code in [SI_USER, SI_QUEUE, SI_TKILL, -64, -128, i32::MIN] {
        let (r, fx) = kill(code);
        assert_eq!(r, Ok(Step::Done(0)), "code {code}");
        assert_eq!(
            (fx.signals[0].code, fx.signals[0].value),
            (code, 9),
            "code {code}: queued as given, with its value"
        );
    }
    for code in [1, 5, i32::MAX] {
        let (r, fx) = kill(code);
        assert_eq!(r, Err(Errno::EINVAL), "QNX: code {code} above SI_USER");
        assert!(fx.signals.is_empty());
    }
    // The code is checked before the target, as QNX's kernel does.
    let r = b
        .run(|t, fx| signal_kill(t, me, 0, 9999, 0, libc::SIGUSR1, 1, 0, fx))
        .0;
    assert_eq!(r, Err(Errno::EINVAL));
}
