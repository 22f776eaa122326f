//! Send, Receive, Reply: MsgSend, MsgReceive, MsgReply, MsgError, MsgRead, MsgWrite, MsgInfo.

use super::{done, Bench, Buf, Entry, Out};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::{Iov, MsgInfo};
use crate::calls::{srr, Step};
use crate::copy::IovList;
use crate::objects::thread::CallResult;
use crate::objects::KState;

#[test]
fn send_to_a_waiting_receiver_copies_the_message_readies_it_and_reply_blocks_the_client() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(20);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let ch = b.chan(server, chid);
    let rbuf = Buf::zeroed(16);
    let info = Out::<MsgInfo>::default();

    let (r, fx) = b.receive(server, chid, rbuf, info.addr());
    assert_eq!(r, Ok(Step::Block));
    assert_eq!(b.state(server), KState::Receive { chan: ch });
    assert_eq!(b.receivers(ch), 1);
    assert!(fx.wake.is_empty());

    let word = b.word(server);
    let smsg = Buf::new(b"hello");
    let reply = Buf::zeroed(8);
    let (r, fx) = b.send(client, coid, smsg, reply);
    assert_eq!(r, Ok(Step::Block));
    assert_eq!(
        b.state(client),
        KState::Reply {
            chan: ch,
            server: server.thread
        }
    );
    let rcvid = b.rcvid(client);
    assert!(rcvid > 0);
    assert_eq!(b.state(server), KState::Ready);
    assert_eq!(b.result(server), CallResult::Ok(rcvid));
    assert_eq!(&fx.wake[..], &[server.thread.index]);
    assert_eq!(
        b.word(server),
        word + 1,
        "the receiver's wait word is bumped"
    );
    assert_eq!(b.receivers(ch), 0);
    assert_eq!(b.queued(ch), 0);
    assert_eq!(&rbuf.bytes()[..5], b"hello");

    let i = info.get();
    assert_eq!(i.pid, b.pid(client));
    assert_eq!(i.tid, 1);
    assert_eq!(i.chid, chid);
    assert_eq!(i.coid, coid);
    assert_eq!(i.scoid, b.scoid(client, coid));
    assert_eq!((i.msglen, i.srcmsglen, i.dstmsglen), (5, 5, 8));
    assert_eq!(i.priority, 20);
    assert_eq!(i.flags, 0);

    // Priority inheritance: the receiver runs at the sender's priority.
    assert_eq!(b.prio(server), 20);
    assert!(fx.prio.contains(&(0, 20)));
    assert_eq!(b.counters(client).msgs_sent, 1);
    assert_eq!(b.counters(server).msgs_received, 1);
}

#[test]
fn send_without_a_receiver_send_blocks_the_client_queued_by_priority_fifo_within_one() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let (cp, _) = b.process();
    let lo1 = b.thread(cp, 10);
    let hi = b.thread(cp, 20);
    let lo2 = b.thread(cp, 10);
    let coid = b.attach(lo1, server, chid);
    let (m1, m2, m3) = (Buf::new(b"lo1"), Buf::new(b"hi"), Buf::new(b"lo2"));
    let reply = Buf::zeroed(4);

    let (r, fx) = b.send(lo1, coid, m1, reply);
    assert_eq!(r, Ok(Step::Block));
    assert_eq!(b.state(lo1), KState::Send { chan: ch });
    assert!(fx.wake.is_empty());
    assert_eq!(b.send(hi, coid, m2, reply).0, Ok(Step::Block));
    assert_eq!(b.send(lo2, coid, m3, reply).0, Ok(Step::Block));
    assert_eq!(b.queued(ch), 3);
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Thread(hi.thread.index),
            Entry::Thread(lo1.thread.index),
            Entry::Thread(lo2.thread.index)
        ]
    );

    // A receive takes the head: the highest priority first, then in arrival order.
    let rbuf = Buf::zeroed(8);
    for (c, text) in [(hi, &b"hi"[..]), (lo1, b"lo1"), (lo2, b"lo2")] {
        let rcvid = done(b.receive(server, chid, rbuf, 0).0);
        assert_eq!(rcvid, b.rcvid(c));
        assert!(matches!(b.state(c), KState::Reply { chan, .. } if chan == ch));
        assert_eq!(&rbuf.bytes()[..text.len()], text);
    }
    assert_eq!(b.queued(ch), 0);
}

#[test]
fn receive_with_nothing_queued_blocks_and_gives_back_the_inherited_priority() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(30);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    let (m, reply) = (Buf::new(b"x"), Buf::zeroed(4));
    let rcvid = b.exchange(server, chid, client, coid, m, reply);
    assert_eq!(b.prio(server), 30, "inherited on receive");
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Ok(Step::Done(0)));

    let (r, fx) = b.receive(server, chid, Buf::zeroed(8), 0);
    assert_eq!(r, Ok(Step::Block));
    assert_eq!(b.state(server), KState::Receive { chan: ch });
    assert_eq!(
        b.prio(server),
        10,
        "back to its base priority while it waits"
    );
    assert!(fx.prio.contains(&(0, 10)));
}

#[test]
fn a_queued_sender_boosts_the_server_threads_that_last_received_on_the_channel() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let (cp, _) = b.process();
    let low = b.thread(cp, 5);
    let high = b.thread(cp, 30);
    let coid = b.attach(low, server, chid);
    let reply = Buf::zeroed(4);
    b.exchange(server, chid, low, coid, Buf::new(b"a"), reply);
    assert_eq!(b.prio(server), 5, "inherits the lower priority too");

    // The server is busy (not RECEIVE-blocked): a higher-priority sender boosts it.
    let (r, fx) = b.send(high, coid, Buf::new(b"b"), reply);
    assert_eq!(r, Ok(Step::Block));
    assert_eq!(b.prio(server), 30);
    assert_eq!(&fx.prio[..], &[(0, 30)]);
}

#[test]
fn fixed_priority_channel_neither_inherits_nor_boosts() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, _NTO_CHF_FIXED_PRIORITY);
    let (cp, _) = b.process();
    let c1 = b.thread(cp, 40);
    let c2 = b.thread(cp, 50);
    let coid = b.attach(c1, server, chid);
    let reply = Buf::zeroed(4);
    b.exchange(server, chid, c1, coid, Buf::new(b"a"), reply);
    assert_eq!(b.prio(server), 10);
    let (_, fx) = b.send(c2, coid, Buf::new(b"b"), reply);
    assert_eq!(b.prio(server), 10);
    assert!(fx.prio.is_empty());
}

#[test]
fn receivers_are_a_stack_and_messages_skip_pulse_only_receivers() {
    let b = Bench::new();
    let (sp, _) = b.process();
    let oldest = b.thread(sp, 10);
    let newest = b.thread(sp, 10);
    let pulse_only = b.thread(sp, 10);
    let (cp, _) = b.process();
    let client = b.thread(cp, 10);
    let pulser = b.thread(cp, 10);
    let chid = b.channel(oldest, 0);
    let coid = b.attach(client, oldest, chid);
    let (r1, r2, rp) = (Buf::zeroed(8), Buf::zeroed(8), Buf::zeroed(32));
    assert_eq!(b.receive(oldest, chid, r1, 0).0, Ok(Step::Block));
    assert_eq!(b.receive(newest, chid, r2, 0).0, Ok(Step::Block));
    assert_eq!(b.receive_pulse(pulse_only, chid, rp).0, Ok(Step::Block));

    // The message goes to the newest full receiver, past the pulse-only one on top.
    let (_, fx) = b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4));
    assert_eq!(&fx.wake[..], &[newest.thread.index]);
    assert_eq!(b.state(newest), KState::Ready);
    assert!(matches!(b.state(oldest), KState::Receive { .. }));
    assert!(matches!(b.state(pulse_only), KState::Receive { .. }));

    // A pulse goes to the top of the stack, pulse-only or not.
    let (_, fx) = b.pulse(pulser, coid, 10, 1, 2);
    assert_eq!(&fx.wake[..], &[pulse_only.thread.index]);
    assert_eq!(b.result(pulse_only), CallResult::Ok(0));
    assert_eq!(rp.pulse().code, 1);
}

#[test]
fn pulse_only_receive_takes_the_first_pulse_past_queued_senders() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(20);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    assert_eq!(
        b.send(client, coid, Buf::new(b"m"), Buf::zeroed(4)).0,
        Ok(Step::Block)
    );
    assert_eq!(
        b.pulse(server, b.attach(server, server, chid), 5, 9, 99).0,
        Ok(Step::Done(0))
    );
    assert_eq!(b.queued(ch), 2);

    let rp = Buf::zeroed(32);
    assert_eq!(b.receive_pulse(server, chid, rp).0, Ok(Step::Done(0)));
    assert_eq!((rp.pulse().code, rp.pulse().value), (9, 99));
    assert_eq!(b.sendq(ch), [Entry::Thread(client.thread.index)]);
    assert_eq!(b.state(client), KState::Send { chan: ch });
}

#[test]
fn reply_readies_the_client_with_the_status_and_copies_the_reply() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"q"), reply);
    let word = b.word(client);

    let (r, fx) = b.reply(server, rcvid, 42, Buf::new(b"0123456789"));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(b.state(client), KState::Ready);
    assert_eq!(b.result(client), CallResult::Ok(42));
    assert_eq!(&fx.wake[..], &[client.thread.index]);
    assert_eq!(b.word(client), word + 1);
    assert_eq!(
        reply.bytes(),
        b"0123",
        "the reply is cut to the client's buffer"
    );
    assert_eq!(b.counters(server).replies, 1);
    assert_eq!(b.collect(client), CallResult::Ok(42));
    assert_eq!(b.state(client), KState::Running);

    // The rcvid is spent.
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Err(Errno::ESRCH));
}

#[test]
fn reply_msg_error_and_friends_refuse_a_stale_foreign_or_malformed_rcvid_with_esrch() {
    let b = Bench::new();
    let server = b.spawn(10);
    let other = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(4);
    let first = b.exchange(server, chid, client, coid, Buf::new(b"1"), reply);
    assert_eq!(b.reply(server, first, 0, Buf::empty()).0, Ok(Step::Done(0)));
    b.collect(client);
    let second = b.exchange(server, chid, client, coid, Buf::new(b"2"), reply);
    assert_ne!(
        first, second,
        "the same client's next message has a new rcvid"
    );

    let info = Out::<MsgInfo>::default();
    let empty = Buf::empty();
    for rcvid in [first, 0, -1, crate::calls::rcvid_make(7, 0), i64::MAX] {
        assert_eq!(
            b.reply(server, rcvid, 0, empty).0,
            Err(Errno::ESRCH),
            "{rcvid:#x}"
        );
        assert_eq!(b.error(server, rcvid, libc::EIO).0, Err(Errno::ESRCH));
        assert_eq!(
            b.run(|t, _| srr::msg_read(t, server, rcvid, empty.list(), 0))
                .0,
            Err(Errno::ESRCH)
        );
        assert_eq!(
            b.run(|t, _| srr::msg_write(t, server, rcvid, empty.list(), 0))
                .0,
            Err(Errno::ESRCH)
        );
        assert_eq!(
            b.run(|t, _| srr::msg_info(t, server, rcvid, info.addr())).0,
            Err(Errno::ESRCH)
        );
    }
    // Another process cannot answer our client.
    assert_eq!(b.reply(other, second, 0, empty).0, Err(Errno::ESRCH));
    assert!(matches!(b.state(client), KState::Reply { .. }));
    assert_eq!(b.reply(server, second, 7, empty).0, Ok(Step::Done(0)));
    assert_eq!(b.result(client), CallResult::Ok(7));
}

#[test]
fn msg_error_readies_the_client_with_the_errno_eok_or_a_restart() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(4);
    for (err, want) in [
        (libc::EIO, CallResult::Err(libc::EIO)),
        (0, CallResult::Ok(0)),
        (Errno::ERESTART.0, CallResult::Restart),
        (srr::ERRNO_MAX, CallResult::Err(srr::ERRNO_MAX)),
    ] {
        let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);
        let (r, fx) = b.error(server, rcvid, err);
        assert_eq!(r, Ok(Step::Done(0)));
        assert_eq!(&fx.wake[..], &[client.thread.index]);
        assert_eq!(b.collect(client), want, "MsgError({err})");
    }
    assert_eq!(b.counters(server).replies, 4);
}

#[test]
fn msg_error_refuses_an_errno_out_of_range_and_minus_one_without_an_unblock_request() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);
    for err in [-1, -2, srr::ERRNO_MAX + 1] {
        let (r, fx) = b.error(server, rcvid, err);
        assert_eq!(r, Err(Errno::EINVAL), "MsgError({err})");
        assert!(fx.wake.is_empty());
        assert!(
            matches!(b.state(client), KState::Reply { .. }),
            "the client stays"
        );
    }
}

#[test]
fn msg_read_and_msg_write_copy_at_an_offset_and_leave_the_client_reply_blocked() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let smsg = Buf::new(b"abcdefghij");
    let reply = Buf::zeroed(8);
    assert_eq!(b.send(client, coid, smsg, reply).0, Ok(Step::Block));
    let (rbuf, info) = (Buf::zeroed(4), Out::<MsgInfo>::default());
    let rcvid = done(b.receive(server, chid, rbuf, info.addr()).0);
    assert_eq!(rbuf.bytes(), b"abcd");
    assert_eq!((info.get().msglen, info.get().srcmsglen), (4, 10));

    let dst = Buf::zeroed(16);
    let read = |off| {
        done(
            b.run(|t, _| srr::msg_read(t, server, rcvid, dst.list(), off))
                .0,
        )
    };
    assert_eq!(read(4), 6);
    assert_eq!(&dst.bytes()[..6], b"efghij");
    assert_eq!(read(10), 0, "nothing past the end");
    assert_eq!(read(u64::MAX), 0);

    let write = |src: &Buf, off| {
        done(
            b.run(|t, _| srr::msg_write(t, server, rcvid, src.list(), off))
                .0,
        )
    };
    assert_eq!(write(Buf::new(b"XY"), 3), 2);
    assert_eq!(
        write(Buf::new(b"ZZ"), 7),
        1,
        "cut at the end of the reply buffer"
    );
    assert_eq!(write(Buf::new(b"ZZ"), 8), 0);
    assert_eq!(reply.bytes(), b"\0\0\0XY\0\0Z");
    assert!(matches!(b.state(client), KState::Reply { .. }));
    assert_eq!(b.counters(server).bytes_copied, 6 + 2 + 1);

    // A fault in the server's own buffer is ESRVRFAULT.
    let bad = [Iov { base: 0, len: 4 }];
    assert_eq!(
        b.run(|t, _| srr::msg_read(t, server, rcvid, IovList::new(&bad), 0))
            .0,
        Err(Errno::ESRVRFAULT)
    );
    assert_eq!(
        b.run(|t, _| srr::msg_write(t, server, rcvid, IovList::new(&bad), 0))
            .0,
        Err(Errno::ESRVRFAULT)
    );

    assert_eq!(
        b.reply(server, rcvid, 0, Buf::new(b"ab")).0,
        Ok(Step::Done(0))
    );
    assert_eq!(reply.bytes(), b"ab\0XY\0\0Z", "the reply lands at offset 0");
}

#[test]
fn msg_info_refills_the_info_of_a_reply_blocked_client() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(25);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(3);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"hello"), reply);
    let info = Out::<MsgInfo>::default();
    assert_eq!(
        b.run(|t, _| srr::msg_info(t, server, rcvid, info.addr())).0,
        Ok(Step::Done(0))
    );
    let i = info.get();
    assert_eq!(
        (i.pid, i.tid, i.chid, i.coid),
        (b.pid(client), 1, chid, coid)
    );
    assert_eq!((i.srcmsglen, i.dstmsglen, i.priority), (5, 3, 25));
}

#[test]
fn reply_from_a_bad_buffer_fails_with_esrvrfault_and_releases_the_client_with_it() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), reply);
    let bad = [Iov { base: 0, len: 4 }];
    let (r, fx) = b.run(|t, fx| srr::msg_reply(t, server, rcvid, 0, IovList::new(&bad), fx));
    assert_eq!(r, Err(Errno::ESRVRFAULT));
    assert_eq!(&fx.wake[..], &[client.thread.index]);
    assert_eq!(b.result(client), CallResult::Err(Errno::ESRVRFAULT.0));
}

#[test]
fn send_from_a_bad_or_overflowing_buffer_fails_at_once_and_queues_nothing() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(client, server, chid);
    let ok = Buf::zeroed(4);
    let null = [Iov { base: 0, len: 4 }];
    let huge = [Iov {
        base: 1,
        len: u64::MAX,
    }];
    for (iovs, err) in [(&null, Errno::EFAULT), (&huge, Errno::EOVERFLOW)] {
        let (r, _) =
            b.run(|t, fx| srr::msg_send(t, client, coid, IovList::new(iovs), ok.list(), fx));
        assert_eq!(r, Err(err));
        let (r, _) =
            b.run(|t, fx| srr::msg_send(t, client, coid, ok.list(), IovList::new(iovs), fx));
        assert_eq!(r, Err(err));
    }
    assert_eq!(b.state(client), KState::Running);
    assert_eq!(b.queued(ch), 0);
    assert_eq!(b.counters(client).msgs_sent, 0);
}

#[test]
fn send_on_an_unknown_coid_is_ebadf_and_receive_on_an_unknown_chid_is_esrch() {
    let b = Bench::new();
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let buf = Buf::zeroed(4);
    for coid in [0, 7, 1000, -1, _NTO_SIDE_CHANNEL as i32 | 3] {
        assert_eq!(
            b.send(server, coid, buf, buf).0,
            Err(Errno::EBADF),
            "coid {coid:#x}"
        );
    }
    for bad in [0, -1, chid + 1, 99] {
        assert_eq!(
            b.receive(server, bad, buf, 0).0,
            Err(Errno::ESRCH),
            "chid {bad}"
        );
    }
    assert_eq!(b.state(server), KState::Running);
}

fn current(
    b: &Bench,
    c: crate::calls::Caller,
    rcvid: crate::abi::types::RcvId,
) -> (Result<Step, Errno>, crate::calls::Effects) {
    b.assert_runs(c);
    b.run(|t, fx| srr::msg_current(t, c, rcvid, fx))
}

#[test]
fn msg_current_gives_the_caller_the_clients_priority_down_as_well_as_up() {
    let b = Bench::new();
    let server = b.spawn(10);
    let worker = b.thread(server.proc, 10);
    let (low, high) = (b.spawn(5), b.spawn(30));
    let chid = b.channel(server, 0);
    let (cl, ch) = (b.attach(low, server, chid), b.attach(high, server, chid));
    let (s, r) = (Buf::new(b"m"), Buf::zeroed(8));
    let low_rcvid = b.exchange(server, chid, low, cl, s, r);
    assert_eq!(
        b.prio(server),
        5,
        "the receive gave the server the client's priority"
    );
    let high_rcvid = b.exchange(server, chid, high, ch, s, r);
    assert_eq!(b.prio(server), 30);
    // The server resumes the low client's message: its priority falls to the client's, and
    // the boost the high one gave is lost (as QNX documents).
    assert_eq!(current(&b, server, low_rcvid).0, Ok(Step::Done(0)));
    assert_eq!(b.prio(server), 5);
    // Another thread of the server's process may take up a message it did not receive.
    assert_eq!(current(&b, worker, high_rcvid).0, Ok(Step::Done(0)));
    assert_eq!(b.prio(worker), 30);
    // The client's priority now, not the one it sent at.
    b.tables(|t| {
        t.set_prio(
            low.thread.index,
            7,
            "test",
            &mut crate::calls::Effects::default(),
        )
    });
    assert_eq!(current(&b, worker, low_rcvid).0, Ok(Step::Done(0)));
    assert_eq!(b.prio(worker), 7);
    // The messages are still the server's to answer.
    assert!(b.reply(worker, low_rcvid, 0, Buf::empty()).0.is_ok());
    assert!(b.reply(server, high_rcvid, 0, Buf::empty()).0.is_ok());
}

#[test]
fn msg_current_on_a_fixed_priority_channel_leaves_the_priority_alone() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(30);
    let chid = b.channel(server, _NTO_CHF_FIXED_PRIORITY);
    let coid = b.attach(client, server, chid);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), Buf::zeroed(8));
    assert_eq!(current(&b, server, rcvid).0, Ok(Step::Done(0)));
    assert_eq!(b.prio(server), 10);
}

#[test]
fn msg_current_is_esrch_for_anything_but_a_reply_blocked_client_of_the_callers_process() {
    let b = Bench::new();
    let server = b.spawn(10);
    let other = b.spawn(10);
    let client = b.spawn(20);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let rcvid = b.exchange(server, chid, client, coid, Buf::new(b"m"), Buf::zeroed(8));
    assert_eq!(
        current(&b, other, rcvid).0,
        Err(Errno::ESRCH),
        "another process"
    );
    assert_eq!(
        current(&b, server, 0).0,
        Err(Errno::ESRCH),
        "a pulse's rcvid"
    );
    assert_eq!(current(&b, server, -1).0, Err(Errno::ESRCH));
    assert_eq!(
        current(&b, server, rcvid ^ 0x7fff_0000).0,
        Err(Errno::ESRCH)
    );
    assert_eq!(b.prio(other), 10, "refused calls change no priority");
    b.reply(server, rcvid, 0, Buf::empty()).0.unwrap();
    b.collect(client);
    assert_eq!(
        current(&b, server, rcvid).0,
        Err(Errno::ESRCH),
        "replied already"
    );
}
