//! ChannelCreate and ChannelDestroy.

use super::{done, Bench, Buf, Entry};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::calls::{channel, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;

#[test]
fn channel_create_hands_out_the_lowest_free_chid_from_one() {
    let b = Bench::new();
    let p = b.spawn(10);
    let before = b.live().chans;
    assert_eq!(b.channel(p, 0), 1);
    assert_eq!(b.channel(p, _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT), 2);
    assert_eq!(b.live().chans, before + 2);
    assert_eq!(
        b.run(|t, fx| channel::channel_destroy(t, p, 1, fx)).0,
        Ok(Step::Done(0))
    );
    assert_eq!(b.live().chans, before + 1);
    assert_eq!(b.channel(p, 0), 1, "the freed chid is handed out again");
    let ch = b.chan(p, 2);
    assert_eq!(
        b.tables(|t| (t.chans.at(ch.index).flags, t.chans.at(ch.index).owner)),
        (_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT, p.proc)
    );
    // Chids are per process.
    assert_eq!(b.channel(b.spawn(10), 0), 1);
}

#[test]
fn channel_create_refuses_unknown_flags_net_msg_and_a_second_death_channel() {
    let b = Bench::new();
    let p = b.spawn(10);
    let create = |flags| b.run(|t, _| channel::channel_create(t, p, flags)).0;
    assert_eq!(
        create(_NTO_CHF_ASYNC),
        Err(Errno::EINVAL),
        "asyncmsg channels have their own call"
    );
    assert_eq!(create(0x8000_0000), Err(Errno::EINVAL));
    assert_eq!(create(_NTO_CHF_NET_MSG), Err(Errno::EPERM));
    assert_eq!(create(_NTO_CHF_THREAD_DEATH), Ok(Step::Done(1)));
    assert_eq!(create(_NTO_CHF_THREAD_DEATH), Err(Errno::EBUSY));
    assert_eq!(create(_NTO_CHF_COID_DISCONNECT), Err(Errno::EBUSY));
    assert_eq!(b.live().chans, 1);
    assert_eq!(
        b.tables(|t| t.procs.at(p.proc.index).death_chan),
        b.chan(p, 1)
    );
}

#[test]
fn channel_create_is_eagain_when_the_chid_table_is_full() {
    let b = Bench::new();
    let p = b.spawn(10);
    for chid in 1..=4 {
        assert_eq!(b.channel(p, 0), chid);
    }
    assert_eq!(
        b.run(|t, _| channel::channel_create(t, p, 0)).0,
        Err(Errno::EAGAIN)
    );
    assert_eq!(b.live().chans, 4);
}

#[test]
fn channel_destroy_of_an_unknown_chid_is_einval() {
    let b = Bench::new();
    let p = b.spawn(10);
    let other = b.spawn(10);
    let chid = b.channel(other, 0);
    for bad in [0, -1, 1, 5] {
        assert_eq!(
            b.run(|t, fx| channel::channel_destroy(t, p, bad, fx)).0,
            Err(Errno::EINVAL)
        );
    }
    assert_eq!(chid, 1, "another process's chid 1 is not ours");
    assert_eq!(b.live().chans, 1);
}

#[test]
fn destroyed_channel_releases_senders_receivers_and_reply_blocked_clients_with_esrch() {
    let b = Bench::new();
    let (sp, _) = b.process();
    let server = b.thread(sp, 10);
    let pulse_waiter = b.thread(sp, 10);
    let (cp, _) = b.process();
    let replied = b.thread(cp, 10);
    let sending = b.thread(cp, 10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(replied, server, chid);
    let reply = Buf::zeroed(4);
    b.exchange(server, chid, replied, coid, Buf::new(b"1"), reply);
    assert_eq!(
        b.send(sending, coid, Buf::new(b"2"), reply).0,
        Ok(Step::Block)
    );
    // A pulse-only receiver waits beside the queued sender.
    assert_eq!(
        b.receive_pulse(pulse_waiter, chid, Buf::zeroed(32)).0,
        Ok(Step::Block)
    );
    assert_eq!((b.queued(ch), b.receivers(ch)), (1, 1));
    let live = b.live();

    let (r, fx) = b.run(|t, fx| channel::channel_destroy(t, server, chid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    let mut woken = fx.wake.to_vec();
    woken.sort_unstable();
    let mut want = vec![
        replied.thread.index,
        sending.thread.index,
        pulse_waiter.thread.index,
    ];
    want.sort_unstable();
    assert_eq!(woken, want);
    for c in [replied, sending, pulse_waiter] {
        assert_eq!(b.state(c), KState::Ready);
        assert_eq!(b.result(c), CallResult::Err(Errno::ESRCH.0));
    }
    assert_eq!(b.live().chans, live.chans - 1);
    assert_eq!(b.tables(|t| t.chan_of(sp, chid)), None);

    // The client's coid stays, its channel gone: later sends and pulses are EBADF.
    b.collect(sending);
    assert_eq!(
        b.send(sending, coid, Buf::new(b"3"), reply).0,
        Err(Errno::EBADF)
    );
    assert_eq!(b.pulse(sending, coid, 10, 1, 1).0, Err(Errno::EBADF));
    let conn = b.conn(sending, coid);
    assert_eq!(
        b.tables(|t| (t.conns.at(conn.index).scoid, t.conns.at(conn.index).links)),
        (0, 1)
    );
}

#[test]
fn destroyed_channel_frees_its_queued_pulses() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    for v in 0..3 {
        assert_eq!(b.pulse(client, coid, 10, 1, v).0, Ok(Step::Done(0)));
    }
    assert_eq!(b.live().pulses, 3);
    let (r, fx) = b.run(|t, fx| channel::channel_destroy(t, server, chid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert_eq!(b.live().pulses, 0);
}

#[test]
fn destroyed_channel_sends_coiddeath_to_each_client_coid_disconnect_channel() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let death = b.channel(client, _NTO_CHF_COID_DISCONNECT);
    let dch = b.chan(client, death);
    let coid1 = b.attach(client, server, chid);
    let coid2 = b.attach(client, server, chid);
    assert_eq!(b.conn(client, coid1), b.conn(client, coid2), "shared");

    let (r, _) = b.run(|t, fx| channel::channel_destroy(t, server, chid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    let code = _PULSE_CODE_COIDDEATH;
    let prio = PRIO_DEFAULT as u8;
    assert_eq!(
        b.sendq(dch),
        [
            Entry::Pulse {
                code,
                value: coid1 as u64,
                prio
            },
            Entry::Pulse {
                code,
                value: coid2 as u64,
                prio
            },
        ]
    );
    let rbuf = Buf::zeroed(32);
    assert_eq!(done(b.receive(client, death, rbuf, 0).0), 0);
    assert_eq!(rbuf.pulse().scoid, -1);
}
