//! The thread transitions (`objects/thread.rs`) keep a thread's state and its place in its
//! channel's queues in step, whichever transition it takes out of a blocked state.

use super::{done, Bench, Buf, Entry};
use crate::calls::{Caller, Effects, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;

/// A server with a channel, and three client threads of one process SEND-blocked on it in
/// order (one priority).
fn three_senders(b: &Bench) -> (Caller, i32, [Caller; 3]) {
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let (cp, _) = b.process();
    let cs = [b.thread(cp, 10), b.thread(cp, 10), b.thread(cp, 10)];
    let coid = b.attach(cs[0], server, chid);
    for c in cs {
        assert_eq!(
            b.send(c, coid, Buf::new(b"m"), Buf::empty()).0,
            Ok(Step::Block)
        );
    }
    (server, chid, cs)
}

#[test]
fn ready_takes_a_send_blocked_thread_off_the_middle_of_the_send_queue() {
    let b = Bench::new();
    let (server, chid, [x, y, z]) = three_senders(&b);
    let ch = b.chan(server, chid);
    assert_eq!(b.queued(ch), 3);
    let word = b.word(y);

    let (_, fx) = b.run(|t, fx| {
        t.ready(y.thread.index, CallResult::Err(1), fx);
        Ok(Step::Done(0))
    });
    assert_eq!(b.queued(ch), 2, "the queued count drops");
    assert_eq!(
        b.sendq(ch),
        [Entry::Thread(x.thread.index), Entry::Thread(z.thread.index)]
    );
    assert_eq!(b.state(y), KState::Ready);
    assert_eq!(b.result(y), CallResult::Err(1));
    assert_eq!(&fx.wake[..], &[y.thread.index]);
    assert_eq!(b.word(y), word + 1);

    // The queue's links still hold: receives take x, then z, and the queue ends empty.
    let rbuf = Buf::zeroed(4);
    assert_eq!(done(b.receive(server, chid, rbuf, 0).0), b.rcvid(x));
    assert_eq!(done(b.receive(server, chid, rbuf, 0).0), b.rcvid(z));
    assert_eq!(b.queued(ch), 0);
    assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Block));
}

#[test]
fn ready_at_either_end_of_the_send_queue_keeps_head_and_tail() {
    let b = Bench::new();
    let (server, chid, [x, y, z]) = three_senders(&b);
    let ch = b.chan(server, chid);
    let mut fx = Effects::default();
    b.tables(|t| {
        t.ready(x.thread.index, CallResult::Ok(0), &mut fx);
        t.ready(z.thread.index, CallResult::Ok(0), &mut fx);
    });
    b.check();
    assert_eq!(b.sendq(ch), [Entry::Thread(y.thread.index)]);
    // A new sender goes behind y (the tail was fixed up).
    let w = b.thread(y.proc, 10);
    let coid = b.tables(|t| t.threads.at(y.thread.index).send.coid);
    assert_eq!(
        b.send(w, coid, Buf::new(b"w"), Buf::empty()).0,
        Ok(Step::Block)
    );
    assert_eq!(
        b.sendq(ch),
        [Entry::Thread(y.thread.index), Entry::Thread(w.thread.index)]
    );
}

#[test]
fn ready_takes_a_receive_blocked_thread_off_the_receivers() {
    let b = Bench::new();
    let (sp, _) = b.process();
    let rs = [b.thread(sp, 10), b.thread(sp, 10), b.thread(sp, 10)];
    let chid = b.channel(rs[0], 0);
    let ch = b.chan(rs[0], chid);
    let bufs = [Buf::zeroed(8), Buf::zeroed(8), Buf::zeroed(8)];
    for (r, buf) in rs.iter().zip(&bufs) {
        assert_eq!(b.receive(*r, chid, buf, 0).0, Ok(Step::Block));
    }
    let mut fx = Effects::default();
    b.tables(|t| t.ready(rs[1].thread.index, CallResult::Ok(0), &mut fx));
    b.check();
    assert_eq!(b.receivers(ch), 2);

    // The stack is intact: the newest (rs[2]) takes the next message, then the oldest.
    let client = b.spawn(10);
    let coid = b.attach(client, rs[0], chid);
    let reply = Buf::zeroed(4);
    let (_, fx) = b.send(client, coid, Buf::new(b"1"), reply);
    assert_eq!(&fx.wake[..], &[rs[2].thread.index]);
    let other = b.thread(client.proc, 10);
    let (_, fx) = b.send(other, coid, Buf::new(b"2"), reply);
    assert_eq!(&fx.wake[..], &[rs[0].thread.index]);
    assert_eq!(b.receivers(ch), 0);
}

#[test]
fn block_reply_and_set_running_take_a_thread_off_its_queue() {
    let b = Bench::new();
    let (server, chid, [x, y, z]) = three_senders(&b);
    let ch = b.chan(server, chid);
    b.tables(|t| {
        t.block_reply(y.thread.index, ch, server.thread);
        t.set_running(z.thread.index);
    });
    b.check();
    assert_eq!(b.sendq(ch), [Entry::Thread(x.thread.index)]);
    assert_eq!(
        b.state(y),
        KState::Reply {
            chan: ch,
            server: server.thread
        }
    );
    assert_eq!(b.state(z), KState::Running);

    // RECEIVE-blocked, then running again: off the receivers.
    let r = b.thread(server.proc, 10);
    assert_eq!(b.receive_pulse(r, chid, Buf::zeroed(32)).0, Ok(Step::Block));
    assert_eq!(b.receivers(ch), 1);
    b.tables(|t| t.set_running(r.thread.index));
    b.check();
    assert_eq!(b.receivers(ch), 0);
}

#[test]
fn block_send_requeues_a_thread_already_on_the_queue_at_its_new_priority() {
    let b = Bench::new();
    let (server, chid, [x, y, z]) = three_senders(&b);
    let ch = b.chan(server, chid);
    b.tables(|t| {
        t.threads.at_mut(z.thread.index).send.prio = 50;
        t.block_send(z.thread.index, ch);
    });
    b.check();
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Thread(z.thread.index),
            Entry::Thread(x.thread.index),
            Entry::Thread(y.thread.index)
        ]
    );
    assert_eq!(b.queued(ch), 3, "moved, not duplicated");
}
