//! MsgSendPulse and the pulse queueing the kernel's own pulses share.

use super::{done, Bench, Buf, Entry, Out};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::MsgInfo;
use crate::calls::{connect, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;
use crate::region::Config;

#[test]
fn pulse_to_a_waiting_receiver_is_written_into_its_buffer_and_readies_it() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let rbuf = Buf::zeroed(32);
    let info = Out::<MsgInfo>::default();
    assert_eq!(
        b.receive(server, chid, rbuf, info.addr()).0,
        Ok(Step::Block)
    );

    let (r, fx) = b.pulse(client, coid, 33, 5, -7);
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[server.thread.index]);
    assert_eq!(b.result(server), CallResult::Ok(0), "a pulse's rcvid is 0");
    let p = rbuf.pulse();
    assert_eq!(
        (p.type_, p.subtype, p.code),
        (_PULSE_TYPE, _PULSE_SUBTYPE, 5)
    );
    assert_eq!(p.value_int(), -7);
    assert_eq!(p.scoid, b.scoid(client, coid));
    assert_eq!(
        b.prio(server),
        33,
        "the receiver takes the pulse's priority"
    );
    assert_eq!(b.live().pulses, 0, "nothing was queued");
    assert_eq!(b.counters(client).pulses_sent, 1);
    assert_eq!(b.counters(server).pulses_received, 1);
}

#[test]
fn pulses_and_senders_share_one_queue_by_priority_fifo_within_one() {
    let b = Bench::new();
    let server = b.spawn(10);
    let (cp, _) = b.process();
    let sender = b.thread(cp, 20);
    let pulser = b.thread(cp, 15);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(pulser, server, chid);
    assert_eq!(b.pulse(pulser, coid, 10, 1, 100).0, Ok(Step::Done(0)));
    assert_eq!(b.pulse(pulser, coid, 30, 2, 200).0, Ok(Step::Done(0)));
    assert_eq!(
        b.send(sender, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(b.pulse(pulser, coid, 10, 3, 300).0, Ok(Step::Done(0)));
    assert_eq!(
        b.pulse(pulser, coid, -1, 4, 400).0,
        Ok(Step::Done(0)),
        "-1: the caller's priority"
    );
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Pulse {
                code: 2,
                value: 200,
                prio: 30
            },
            Entry::Thread(sender.thread.index),
            Entry::Pulse {
                code: 4,
                value: 400,
                prio: 15
            },
            Entry::Pulse {
                code: 1,
                value: 100,
                prio: 10
            },
            Entry::Pulse {
                code: 3,
                value: 300,
                prio: 10
            },
        ]
    );
    assert_eq!(b.live().pulses, 4);

    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!(rbuf.pulse().code, 2);
    assert_eq!(b.live().pulses, 3, "a taken pulse is freed");
    assert_eq!(done(b.receive(server, chid, rbuf, 0).0), b.rcvid(sender));
    for code in [4, 1, 3] {
        assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Done(0)));
        assert_eq!(rbuf.pulse().code, code);
    }
    assert_eq!(b.live().pulses, 0);
    assert_eq!(b.queued(ch), 0);
}

#[test]
fn boosted_disconnect_pulses_go_ahead_of_every_priority_in_arrival_order() {
    let b = Bench::new();
    let server = b.spawn(10);
    let c1 = b.spawn(3);
    let c2 = b.spawn(4);
    let chid = b.channel(server, _NTO_CHF_DISCONNECT);
    let ch = b.chan(server, chid);
    let own = b.attach(server, server, chid);
    let k1 = b.attach(c1, server, chid);
    let k2 = b.attach(c2, server, chid);
    assert_eq!(b.pulse(server, own, 255, 1, 0).0, Ok(Step::Done(0)));
    for (c, k) in [(c1, k1), (c2, k2)] {
        assert_eq!(
            b.run(|t, fx| connect::connect_detach(t, c, k, fx)).0,
            Ok(Step::Done(0))
        );
    }
    assert_eq!(b.pulse(server, own, 255, 2, 0).0, Ok(Step::Done(0)));
    let disc = _PULSE_CODE_DISCONNECT;
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Pulse {
                code: disc,
                value: 0,
                prio: 3
            },
            Entry::Pulse {
                code: disc,
                value: 0,
                prio: 4
            },
            Entry::Pulse {
                code: 1,
                value: 0,
                prio: 255
            },
            Entry::Pulse {
                code: 2,
                value: 0,
                prio: 255
            },
        ]
    );
}

#[test]
fn a_queued_pulse_boosts_the_server_threads_that_last_received_on_the_channel() {
    let b = Bench::new();
    let (sp, _) = b.process();
    let worker = b.thread(sp, 10);
    let idle = b.thread(sp, 10);
    let (cp, _) = b.process();
    let client = b.thread(cp, 10);
    let pulser = b.thread(cp, 10);
    let chid = b.channel(worker, 0);
    let coid = b.attach(client, worker, chid);
    b.exchange(worker, chid, client, coid, Buf::new(b"m"), Buf::zeroed(4));

    let (r, fx) = b.pulse(pulser, coid, 50, 1, 0);
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(b.prio(worker), 50);
    assert_eq!(
        b.prio(idle),
        10,
        "a thread that never received on it is left alone"
    );
    assert_eq!(&fx.prio[..], &[(0, 50)]);
}

#[test]
fn msg_send_pulse_refuses_a_bad_priority_code_or_coid() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(server, server, chid);
    for prio in [0, 256, -2] {
        assert_eq!(
            b.pulse(server, coid, prio, 1, 0).0,
            Err(Errno::EINVAL),
            "prio {prio}"
        );
    }
    for code in [-1, 128, _PULSE_CODE_UNBLOCK as i32] {
        assert_eq!(
            b.pulse(server, coid, 10, code, 0).0,
            Err(Errno::EINVAL),
            "code {code}"
        );
    }
    assert_eq!(b.pulse(server, coid + 1, 10, 1, 0).0, Err(Errno::EBADF));
    assert_eq!(b.pulse(server, coid, 255, 127, 0).0, Ok(Step::Done(0)));
    assert_eq!(b.pulse(server, coid, 1, 0, 0).0, Ok(Step::Done(0)));
    assert_eq!(b.live().pulses, 2);
}

#[test]
fn msg_send_pulse_is_eagain_when_the_pulse_pool_is_exhausted() {
    let b = Bench::with_config(Config {
        max_pulses: 2,
        ..Config::small()
    });
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(server, server, chid);
    assert_eq!(b.pulse(server, coid, 10, 1, 0).0, Ok(Step::Done(0)));
    assert_eq!(b.pulse(server, coid, 10, 2, 0).0, Ok(Step::Done(0)));
    assert_eq!(b.pulse(server, coid, 10, 3, 0).0, Err(Errno::EAGAIN));
    assert_eq!(b.queued(ch), 2);
    assert_eq!(b.counters(server).pulses_sent, 2);
}

#[test]
fn a_queued_pulse_taken_into_a_buffer_too_small_for_it_is_efault_and_lost() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(server, server, chid);
    assert_eq!(b.pulse(server, coid, 10, 1, 0).0, Ok(Step::Done(0)));
    assert_eq!(
        b.receive(server, chid, Buf::zeroed(8), 0).0,
        Err(Errno::EFAULT)
    );
    assert_eq!((b.queued(ch), b.live().pulses), (0, 0));
    assert_eq!(b.state(server), KState::Running);
}

/// QNX 6.4 (`ker_msg_sendpulse`, `pulse_deliver`): a pulse handed to a waiting receiver whose
/// buffer cannot hold it readies the receiver with EFAULT and fails the sender's call with
/// ESRVRFAULT (docs/reference qnx-api.md 2.8 and 4: "ESRVRFAULT: fault writing into a waiting
/// receiver's buffer", for MsgSendPulse and MsgDeliverEvent). Here the sender is told 0.
#[test]
fn a_pulse_into_a_waiting_receivers_too_small_buffer_fails_the_sender_with_esrvrfault() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let sender = b.spawn(10);
    let coid = b.attach(sender, server, chid);
    assert_eq!(
        b.receive(server, chid, Buf::zeroed(8), 0).0,
        Ok(Step::Block)
    );
    let (r, fx) = b.pulse(sender, coid, 10, 2, 0);
    assert_eq!(&fx.wake[..], &[server.thread.index]);
    assert_eq!(b.result(server), CallResult::Err(Errno::EFAULT.0));
    assert_eq!((b.queued(ch), b.live().pulses), (0, 0), "the pulse is lost");
    assert_eq!(
        r,
        Err(Errno::ESRVRFAULT),
        "MsgSendPulse learns of the fault"
    );

    // The same through MsgDeliverEvent: the client's own receiver has a small buffer.
    b.collect(server);
    let own = b.channel(sender, 0);
    let own_coid = b.attach(sender, sender, own);
    let listener = b.thread(sender.proc, 10);
    let rcvid = b.exchange(server, chid, sender, coid, Buf::new(b"m"), Buf::zeroed(4));
    assert_eq!(
        b.receive(listener, own, Buf::zeroed(8), 0).0,
        Ok(Step::Block)
    );
    let ev = crate::abi::types::SigEvent::pulse(own_coid, 10, 3, 0);
    let (r, _) = b.run(|t, fx| crate::calls::event::msg_deliver_event(t, server, rcvid, &ev, fx));
    assert_eq!(b.result(listener), CallResult::Err(Errno::EFAULT.0));
    assert_eq!(
        r,
        Err(Errno::ESRVRFAULT),
        "MsgDeliverEvent learns of the fault"
    );
}
