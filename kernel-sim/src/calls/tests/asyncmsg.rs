//! asyncmsg, the kernel's part: asyncmsg channels and connections over a real sender queue,
//! the trigger (MsgSendAsync) and the batch receive (MsgReceiveAsync).
//!
//! Not reachable here: a wake-up owed to a thread asleep on a sender queue (`fx.wake_words`
//! non-empty) needs a thread counted as asleep in the queue's futex word, which only a real
//! sleeping thread is; these tests check that none is owed when nobody sleeps, and the loom
//! models (`tests/loom_async_*.rs`) check the handshake with sleepers.

use super::{done, Bench, Buf, Entry, Out};
use crate::abi::asyncq::{
    AsyncQueue, MsgDesc, AQ_DEAD, AQ_PULSE_PENDING, AQ_WANT_PULSE, MAX_STORED_LEN,
};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{AsyncGetHeader, Iov, SigEvent};
use crate::calls::asyncmsg::{channel_create, connect_attach, msg_receive_async, msg_send_async};
use crate::calls::{connect, Caller, Effects, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;

type Headers = Out<[AsyncGetHeader; 4]>;

fn async_channel(
    b: &Bench,
    me: Caller,
    flags: u32,
    bufsz: u64,
    max: u32,
    ev: Option<SigEvent>,
) -> KResult<Step> {
    b.run(|t, fx| channel_create(t, me, flags, bufsz, max, ev, fx))
        .0
}

/// ConnectAttachExt from `client` to `server`'s asyncmsg channel over queue `q`.
fn attach_queue(
    b: &Bench,
    client: Caller,
    server: Caller,
    chid: i32,
    q: &AsyncQueue,
    notify: i32,
) -> KResult<Step> {
    let pid = b.pid(server);
    let aq = q as *const AsyncQueue as u64;
    b.run(|t, _| {
        // SAFETY: every test keeps its queues alive until its end, after its last kernel call.
        unsafe {
            connect_attach(
                t,
                client,
                ND_LOCAL_NODE,
                pid,
                chid,
                _NTO_SIDE_CHANNEL,
                0,
                aq,
                notify,
            )
        }
    })
    .0
}

/// asyncmsg_put of a static message (no kernel entry).
fn put(q: &AsyncQueue, msg: &'static [u8]) {
    // SAFETY: the test is the queue's only producer; the message is static, so it stays valid
    // and unchanged for as long as the slot is outstanding.
    let r = unsafe {
        q.push(MsgDesc {
            iov: Iov::from_slice(msg),
            parts: 0,
        })
    };
    assert!(r.is_some(), "room in the queue");
}

fn trigger(b: &Bench, c: Caller, coid: i32) -> (KResult<Step>, Effects) {
    b.run(|t, fx| msg_send_async(t, c, coid, None, 1, fx))
}

fn get(
    b: &Bench,
    c: Caller,
    chid: i32,
    arena: &Buf,
    hdrs: &Headers,
    max: u32,
) -> (KResult<Step>, Effects) {
    b.run(|t, fx| msg_receive_async(t, c, chid, arena.list(), hdrs.addr(), max, fx))
}

/// A server with an asyncmsg channel (buffers of 16 bytes, 4 per receive) and a client.
fn scene(flags: u32) -> (Bench, Caller, i32, Caller) {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = done(async_channel(&b, server, flags, 16, 4, None)) as i32;
    (b, server, chid, client)
}

fn ready(b: &Bench, c: Caller, chid: i32) -> u32 {
    let ch = b.chan(c, chid);
    b.tables(|t| t.chans.at(ch.index).asyncmsg().map_or(0, |a| a.ready()))
}

#[test]
fn async_channel_create_refuses_bad_sizes_flags_and_events() {
    let b = Bench::new();
    let me = b.spawn(10);
    for (flags, bufsz, max) in [
        (_NTO_CHF_UNBLOCK, 16, 4),
        (0, 0, 4),
        (0, 16, 0),
        (0, MAX_STORED_LEN + 1, 4),
    ] {
        assert_eq!(
            async_channel(&b, me, flags, bufsz, max, None),
            Err(Errno::EINVAL),
            "{flags:#x} {bufsz} {max}"
        );
    }
    let bad_ev = Some(SigEvent::pulse(5, 10, 1, 0));
    assert_eq!(async_channel(&b, me, 0, 16, 4, bad_ev), Err(Errno::EINVAL));
    assert_eq!(b.live().chans, 0);

    let chid = done(async_channel(
        &b,
        me,
        _NTO_CHF_ASYNC_NONBLOCK,
        MAX_STORED_LEN,
        4,
        None,
    )) as i32;
    let ch = b.chan(me, chid);
    b.tables(|t| {
        let c = t.chans.at(ch.index);
        assert_eq!(c.flags, _NTO_CHF_ASYNC | _NTO_CHF_ASYNC_NONBLOCK);
        let a = c.asyncmsg().expect("an asyncmsg channel");
        assert_eq!(
            (a.buffer_size, a.max_num_buffer, a.creator),
            (MAX_STORED_LEN, 4, me.thread)
        );
    });
    // The two models do not mix.
    assert_eq!(
        b.receive(me, chid, Buf::zeroed(64), 0).0,
        Err(Errno::EINVAL)
    );
    let r = b
        .run(|t, _| connect::connect_attach(t, me, 0, 0, chid, 0, 0))
        .0;
    assert_eq!(r, Err(Errno::EINVAL));
    let sync = b.channel(me, 0);
    let hdrs = Headers::default();
    assert_eq!(
        get(&b, me, sync, Buf::zeroed(64), &hdrs, 4).0,
        Err(Errno::EBADF)
    );
    assert_eq!(
        get(&b, me, 9, Buf::zeroed(64), &hdrs, 4).0,
        Err(Errno::EBADF)
    );
}

#[test]
fn async_connect_attach_makes_an_unshared_connection_over_the_queue() {
    let (b, server, chid, client) = scene(0);
    let sync = b.channel(server, 0);
    let (q1, q2) = (AsyncQueue::new(8), AsyncQueue::new(8));
    let live = b.live();
    assert_eq!(
        attach_queue(&b, client, server, sync, &q1, -1),
        Err(Errno::EINVAL)
    );
    let pid = b.pid(server);
    let r = b.run(|t, _| {
        // SAFETY: a null queue is refused before anything reads it.
        unsafe { connect_attach(t, client, 0, pid, chid, 0, 0, 0, -1) }
    });
    assert_eq!(r.0, Err(Errno::EINVAL));

    let own = b.channel(client, 0);
    let lib = b.attach(client, client, own);
    let live2 = b.live();
    assert_eq!(
        attach_queue(&b, client, server, sync, &q1, lib),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        b.live(),
        live2,
        "a refused attach gives its notify pulse back"
    );

    let c1 = done(attach_queue(&b, client, server, chid, &q1, lib)) as i32;
    let c2 = done(attach_queue(&b, client, server, chid, &q2, -1)) as i32;
    assert_ne!(b.conn(client, c1), b.conn(client, c2), "never shared");
    assert_eq!(b.live().conns, live.conns + 1 + 2);
    assert_eq!(
        b.live().pulses,
        live2.pulses + 1,
        "the notify pulse is reserved"
    );
    let conn = b.conn(client, c1);
    b.tables(|t| {
        let a = *t
            .conns
            .at(conn.index)
            .asyncmsg()
            .expect("an asyncmsg connection");
        assert_eq!(
            (a.queue, a.coid, a.notify_coid),
            (&q1 as *const AsyncQueue as u64, c1, lib)
        );
    });

    // asyncmsg connections carry only asyncmsg traffic, and the other way round.
    let m = Buf::new(b"m");
    assert_eq!(b.send(client, c1, m, m).0, Err(Errno::EBADF));
    assert_eq!(b.pulse(client, c1, 10, 1, 0).0, Err(Errno::EBADF));
    assert_eq!(trigger(&b, client, lib).0, Err(Errno::EBADF));
    let other = &q2 as *const AsyncQueue as u64;
    assert_eq!(
        b.run(|t, fx| msg_send_async(t, client, c1, Some(other), 0, fx))
            .0,
        Err(Errno::EBADF)
    );
}

#[test]
fn a_trigger_with_nothing_pending_returns_zero_and_readies_nothing() {
    let (b, server, chid, client) = scene(0);
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, -1)) as i32;
    let (r, fx) = trigger(&b, client, coid);
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert_eq!(ready(&b, server, chid), 0);
    assert_eq!(b.counters(client).async_triggers, 1);
}

#[test]
fn a_trigger_with_messages_links_the_connection_into_the_ready_list_once() {
    let (b, server, chid, client) = scene(0);
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, -1)) as i32;
    put(&q, b"one");
    put(&q, b"two");
    assert_eq!(trigger(&b, client, coid).0, Ok(Step::Done(2)));
    assert_eq!(ready(&b, server, chid), 1);
    put(&q, b"three");
    let aq = &q as *const AsyncQueue as u64;
    assert_eq!(
        b.run(|t, fx| msg_send_async(t, client, coid, Some(aq), 3, fx))
            .0,
        Ok(Step::Done(3))
    );
    assert_eq!(ready(&b, server, chid), 1, "once");
    let conn = b.conn(client, coid);
    let ch = b.chan(server, chid);
    b.tables(|t| {
        let a = t.conns.at(conn.index).asyncmsg().copied().unwrap();
        assert!(a.in_ready());
        assert_eq!(a.batches, 2);
        assert_eq!(t.chans.at(ch.index).asyncmsg().unwrap().last_trigger_cpu, 3);
    });
    assert_eq!(q.counters(), (0, 0, 3), "the trigger takes nothing");
}

#[test]
fn a_trigger_readies_a_receive_blocked_receiver_to_take_the_batch_itself() {
    let (b, server, chid, client) = scene(0);
    let ch = b.chan(server, chid);
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, -1)) as i32;
    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Block));
    assert_eq!(b.state(server), KState::Receive { chan: ch });

    put(&q, b"hi");
    let (r, fx) = trigger(&b, client, coid);
    assert_eq!(r, Ok(Step::Done(1)));
    assert_eq!(&fx.wake[..], &[server.thread.index]);
    assert_eq!(b.result(server), CallResult::Retry, "run the receive again");
    assert_eq!(
        q.counters(),
        (0, 0, 1),
        "the copy runs on the receiver's thread"
    );
    assert_eq!(b.collect(server), CallResult::Retry);
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(1)));
    assert_eq!(&arena.bytes()[..2], b"hi");
}

#[test]
fn msg_receive_async_takes_a_batch_writes_headers_and_moves_head() {
    let (b, server, chid, client) = scene(0);
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, -1)) as i32;
    let scoid = b.scoid(client, coid);
    put(&q, b"one");
    // A gathered message: two parts, copied in order.
    let parts = [Iov::from_slice(b"tw"), Iov::from_slice(b"o!")];
    // SAFETY: one producer; `parts` and the static bytes outlive the test's last kernel call.
    unsafe {
        q.push(MsgDesc {
            iov: Iov {
                base: parts.as_ptr() as u64,
                len: 4,
            },
            parts: 2,
        })
    }
    .unwrap();
    put(&q, b"three");
    done(trigger(&b, client, coid).0);

    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    let (r, fx) = get(&b, server, chid, arena, &hdrs, 2);
    assert_eq!(r, Ok(Step::Done(2)));
    assert!(
        fx.wake_words.is_empty(),
        "nobody waits on the queue: no wake-up owed"
    );
    let h = hdrs.get();
    assert_eq!((h[0].err, h[0].len, h[0].offset), (0, 3, 0));
    assert_eq!((h[1].err, h[1].len, h[1].offset), (0, 4, 16));
    assert_eq!(
        (
            h[0].info.pid,
            h[0].info.chid,
            h[0].info.coid,
            h[0].info.scoid
        ),
        (b.pid(client), chid, coid, scoid)
    );
    assert_eq!((h[1].info.msglen, h[1].info.srcmsglen), (4, 4));
    let a = arena.bytes();
    assert_eq!((&a[..3], &a[16..20]), (&b"one"[..], &b"two!"[..]));
    assert_eq!(q.counters(), (0, 2, 3), "head moved past the batch");
    assert_eq!((q.error_of(0), q.error_of(1)), (0, 0));
    assert_eq!(ready(&b, server, chid), 1, "not drained: still ready");
    let conn = b.conn(client, coid);
    assert_eq!(
        b.tables(|t| t.conns.at(conn.index).asyncmsg().unwrap().msgs_taken),
        2
    );
    let sc = b.counters(server);
    assert_eq!(
        (
            sc.async_msgs_received,
            sc.async_batches_received,
            sc.bytes_copied
        ),
        (2, 1, 7)
    );
    assert_eq!(b.counters(client).async_msgs_sent, 2);

    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(1)));
    assert_eq!(&arena.bytes()[..5], b"three");
    assert_eq!(q.counters(), (0, 3, 3));
    assert_eq!(ready(&b, server, chid), 0);
    assert_eq!(
        get(&b, server, chid, arena, &hdrs, 4).0,
        Ok(Step::Block),
        "nothing left"
    );
}

#[test]
fn msg_receive_async_takes_connections_round_robin() {
    let (b, server, chid, client) = scene(0);
    let (qa, qb) = (AsyncQueue::new(8), AsyncQueue::new(8));
    let ca = done(attach_queue(&b, client, server, chid, &qa, -1)) as i32;
    let cb = done(attach_queue(&b, client, server, chid, &qb, -1)) as i32;
    for m in [&b"a1"[..], b"a2", b"a3"] {
        put(&qa, m);
    }
    put(&qb, b"b1");
    done(trigger(&b, client, ca).0);
    done(trigger(&b, client, cb).0);
    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    let mut order = Vec::new();
    // (Bounded: a receive that took nothing would otherwise loop for ever.)
    for _ in 0..4 {
        let Ok(Step::Done(n)) = get(&b, server, chid, arena, &hdrs, 2).0 else {
            break;
        };
        let a = arena.bytes();
        order.extend(
            (0..n as usize).map(|i| (hdrs.get()[i].info.coid, a[16 * i..16 * i + 2].to_vec())),
        );
    }
    let want: Vec<(i32, Vec<u8>)> = [(ca, b"a1"), (ca, b"a2"), (cb, b"b1"), (ca, b"a3")]
        .into_iter()
        .map(|(c, m)| (c, m.to_vec()))
        .collect();
    assert_eq!(order, want, "a connection not drained goes to the back");
}

#[test]
fn a_message_longer_than_the_buffer_is_delivered_as_emsgsize_and_those_behind_it_still_arrive() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = done(async_channel(&b, server, 0, 8, 4, None)) as i32;
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, -1)) as i32;
    put(&q, b"0123456789abcdef");
    put(&q, b"xyz");
    done(trigger(&b, client, coid).0);
    let (arena, hdrs) = (Buf::zeroed(32), Headers::default());
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(2)));
    let h = hdrs.get();
    assert_eq!(
        (h[0].err, h[0].len, h[0].info.msglen, h[0].info.srcmsglen),
        (Errno::EMSGSIZE.0, 0, 0, 16)
    );
    assert_eq!((h[1].err, h[1].len, h[1].offset), (0, 3, 8));
    assert_eq!(&arena.bytes()[..8], [0; 8], "no data for the oversize one");
    assert_eq!(&arena.bytes()[8..11], b"xyz");
    assert_eq!((q.error_of(0), q.error_of(1)), (Errno::EMSGSIZE.0, 0));
}

#[test]
fn msg_receive_async_refuses_a_small_arena_no_headers_and_would_block_on_nonblock() {
    let (b, server, chid, client) = scene(_NTO_CHF_ASYNC_NONBLOCK);
    let ch = b.chan(server, chid);
    let q = AsyncQueue::new(8);
    done(attach_queue(&b, client, server, chid, &q, -1));
    let hdrs = Headers::default();
    assert_eq!(
        get(&b, server, chid, Buf::zeroed(15), &hdrs, 4).0,
        Err(Errno::EINVAL),
        "not one buffer"
    );
    assert_eq!(
        get(&b, server, chid, Buf::zeroed(64), &hdrs, 0).0,
        Err(Errno::EINVAL)
    );
    let r = b
        .run(|t, fx| msg_receive_async(t, server, chid, Buf::zeroed(64).list(), 0, 4, fx))
        .0;
    assert_eq!(r, Err(Errno::EINVAL), "no header array");
    assert_eq!(
        get(&b, server, chid, Buf::zeroed(64), &hdrs, 4).0,
        Err(Errno::EAGAIN)
    );
    assert_eq!(b.state(server), KState::Running);
    assert_eq!(b.receivers(ch), 0);
}

#[test]
fn a_trigger_with_nobody_waiting_delivers_the_channel_event_when_the_ready_list_fills() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let evchid = b.channel(server, 0);
    let evch = b.chan(server, evchid);
    let evcoid = b.attach(server, server, evchid);
    let ev = Some(SigEvent::pulse(evcoid, 12, 9, 1));
    let chid = done(async_channel(&b, server, 0, 16, 4, ev)) as i32;
    let (qa, qb) = (AsyncQueue::new(8), AsyncQueue::new(8));
    let ca = done(attach_queue(&b, client, server, chid, &qa, -1)) as i32;
    let cb = done(attach_queue(&b, client, server, chid, &qb, -1)) as i32;
    put(&qa, b"a");
    put(&qb, b"b");
    done(trigger(&b, client, ca).0);
    assert_eq!(
        b.sendq(evch),
        [Entry::Pulse {
            code: 9,
            value: 1,
            prio: 12
        }]
    );
    done(trigger(&b, client, cb).0);
    assert_eq!(b.queued(evch), 1, "not again while the list is not empty");

    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(2)));
    put(&qa, b"c");
    done(trigger(&b, client, ca).0);
    assert_eq!(b.queued(evch), 2, "the list filled again");
}

#[test]
fn taking_messages_pulses_the_library_once_until_it_handles_the_pulse() {
    let (b, server, chid, client) = scene(0);
    let lib_chid = b.channel(client, 0);
    let lib_ch = b.chan(client, lib_chid);
    let lib = b.attach(client, client, lib_chid);
    let q = AsyncQueue::new(8);
    let coid = done(attach_queue(&b, client, server, chid, &q, lib)) as i32;
    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    let taken = Entry::Pulse {
        code: PULSE_CODE_TAKEN,
        value: coid as u64,
        prio: PRIO_MAX as u8,
    };

    // Without AQ_WANT_PULSE (no callbacks pending) the library is not woken.
    put(&q, b"1");
    done(trigger(&b, client, coid).0);
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(1)));
    assert_eq!(b.queued(lib_ch), 0);

    q.set_flags(AQ_WANT_PULSE);
    for m in [&b"2"[..], b"3"] {
        put(&q, m);
        done(trigger(&b, client, coid).0);
        assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(1)));
        assert_eq!(b.sendq(lib_ch), [taken], "one pulse until it is handled");
        assert_ne!(q.flags() & AQ_PULSE_PENDING, 0);
    }
    let pulses = b.live().pulses;
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(client, lib_chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!(rbuf.pulse().code, PULSE_CODE_TAKEN);
    assert_eq!(b.live().pulses, pulses, "the connection's own pulse, kept");
    q.pulse_handled();
    put(&q, b"4");
    done(trigger(&b, client, coid).0);
    assert_eq!(get(&b, server, chid, arena, &hdrs, 4).0, Ok(Step::Done(1)));
    assert_eq!(b.sendq(lib_ch), [taken]);
}

#[test]
fn detach_and_channel_destroy_let_go_of_the_queue_and_kill_it() {
    let (b, server, chid, client) = scene(0);
    let (qa, qb) = (AsyncQueue::new(8), AsyncQueue::new(8));
    let lib_chid = b.channel(client, 0);
    let lib = b.attach(client, client, lib_chid);
    let ca = done(attach_queue(&b, client, server, chid, &qa, lib)) as i32;
    let cb = done(attach_queue(&b, client, server, chid, &qb, lib)) as i32;
    put(&qa, b"a");
    done(trigger(&b, client, ca).0);
    assert_eq!(ready(&b, server, chid), 1);
    let pulses = b.live().pulses;

    // Detach: the connection leaves the ready list, its queue is dead, its pulse given back.
    let (r, fx) = b.run(|t, fx| connect::connect_detach(t, client, ca, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake_words.is_empty(), "nobody sleeps on the queue");
    assert_ne!(qa.flags() & AQ_DEAD, 0);
    assert_eq!(ready(&b, server, chid), 0);
    assert_eq!(b.live().pulses, pulses - 1);

    // Destroy: a receiver waiting leaves with ESRCH, every queue on the channel dies.
    let waiter = b.thread(server.proc, 10);
    let (arena, hdrs) = (Buf::zeroed(64), Headers::default());
    assert_eq!(get(&b, waiter, chid, arena, &hdrs, 4).0, Ok(Step::Block));
    let (r, fx) = b.run(|t, fx| crate::calls::channel::channel_destroy(t, server, chid, fx));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[waiter.thread.index]);
    assert_eq!(b.result(waiter), CallResult::Err(Errno::ESRCH.0));
    assert_ne!(qb.flags() & AQ_DEAD, 0);
    assert_eq!(b.live().pulses, pulses - 2);
    let conn = b.conn(client, cb);
    assert_eq!(
        b.tables(|t| t.conns.at(conn.index).asyncmsg().unwrap().queue),
        0,
        "never read again"
    );
    assert_eq!(trigger(&b, client, cb).0, Err(Errno::EBADF));
}
