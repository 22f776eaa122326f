//! asyncmsg delivery: nothing lost, nothing duplicated, per-connection order kept, under each
//! trigger; kernel entries per batch; the process counters; callbacks.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;

/// How a producer makes its messages move.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// `trigger_num_msg` n, no time trigger.
    Count(u32),
    /// `trigger_num_msg` 0, `trigger_time` 2 ms.
    Time,
    /// No trigger at all: one blocking flush at the end.
    FlushOnly,
}

const PROCS: u32 = 3;
const CONNS_PER_PROC: u32 = 2;
const MSGS: u32 = 200;

/// Several producer processes, each with several connections (one thread each), send `MSGS`
/// numbered messages each to one channel; the consumer checks every message arrives exactly
/// once, in per-connection order, from the process and connection it names.
fn every_message_arrives_once_in_order(trigger: Trigger) {
    let k = kernel();
    let recv = process(&k);
    let producers: Vec<_> = (0..PROCS).map(|_| process(&k)).collect();
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();

    let a = match trigger {
        Trigger::Count(n) => attr(n, Duration::ZERO, 16),
        Trigger::Time => attr(0, Duration::from_millis(2), 16),
        // Nothing moves before the flush: the queue must hold every message.
        Trigger::FlushOnly => attr(0, Duration::ZERO, MSGS + 1),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // Connections stay attached until the consumer is done, so no coid is reused meanwhile.
    let release = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for (pi, p) in producers.iter().enumerate() {
        for ci in 0..CONNS_PER_PROC {
            let id = pi as u32 * CONNS_PER_PROC + ci;
            let (a, tx, release) = (a.clone(), tx.clone(), release.clone());
            let pid = p.pid();
            threads.push(
                p.spawn(move || {
                    let coid = connect(rpid, chid, 0, &a);
                    tx.send(((pid, coid), id)).unwrap();
                    for seq in 0..MSGS {
                        put(coid, encode(id, seq), seq);
                    }
                    if trigger == Trigger::FlushOnly {
                        asyncmsg_flush_timeout(coid, LONG).unwrap();
                    } else {
                        // The triggers alone must deliver everything.
                        wait_until("the receiver to take everything", || {
                            asyncmsg_connection_stats(coid).unwrap().msgs_taken == MSGS as u64
                        });
                    }
                    wait_until("the consumer to finish", || release.load(Ordering::SeqCst));
                    let s = asyncmsg_connection_stats(coid).unwrap();
                    asyncmsg_connect_detach(coid).unwrap();
                    s
                })
                .unwrap(),
            );
        }
    }

    let total = (PROCS * CONNS_PER_PROC * MSGS) as usize;
    let (got, _) = take(chid, total);
    let who: HashMap<(i32, i32), u32> = (0..PROCS * CONNS_PER_PROC)
        .map(|_| rx.recv_timeout(LONG).expect("every producer connected"))
        .collect();
    assert_eq!(
        who.len(),
        (PROCS * CONNS_PER_PROC) as usize,
        "distinct coids"
    );
    let mut next = vec![0u32; (PROCS * CONNS_PER_PROC) as usize];
    for m in &got {
        assert_eq!(m.err, 0);
        assert_eq!((m.info.msglen, m.info.srcmsglen), (16, 16));
        assert_eq!(m.info.chid, chid);
        let (id, seq) = decode(&m.data);
        assert_eq!(
            who.get(&(m.info.pid, m.info.coid)),
            Some(&id),
            "message {id}/{seq} names another sender than its info (pid {}, coid {})",
            m.info.pid,
            m.info.coid
        );
        assert_eq!(
            seq, next[id as usize],
            "producer {id}: lost, duplicate or out of order"
        );
        next[id as usize] += 1;
    }
    assert!(next.iter().all(|&n| n == MSGS));
    assert_nothing_more(chid);
    release.store(true, Ordering::SeqCst);

    for h in threads {
        let s = join(h);
        assert_eq!((s.msgs_put, s.msgs_taken), (MSGS as u64, MSGS as u64));
        assert_eq!(s.callbacks, 0);
        match trigger {
            Trigger::Count(n) => {
                assert_eq!(s.triggers, (MSGS / n) as u64);
                assert_eq!(s.kernel_entries, (MSGS / n) as u64);
            }
            Trigger::FlushOnly => assert_eq!((s.triggers, s.kernel_entries), (1, 1)),
            Trigger::Time => {
                assert!(s.triggers >= 1);
                assert!(
                    s.kernel_entries > s.triggers,
                    "timer arming enters the kernel too"
                );
            }
        }
        assert!(s.batches >= 1 && s.batches <= s.triggers, "{s:?}");
    }
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn every_message_arrives_once_in_per_connection_order_with_a_count_trigger_of_8() {
    every_message_arrives_once_in_order(Trigger::Count(8));
}

#[test]
fn every_message_arrives_once_in_per_connection_order_with_a_time_trigger_only() {
    every_message_arrives_once_in_order(Trigger::Time);
}

#[test]
fn every_message_arrives_once_in_per_connection_order_with_a_final_flush_only() {
    every_message_arrives_once_in_order(Trigger::FlushOnly);
}

#[test]
fn every_message_arrives_once_in_per_connection_order_with_a_count_trigger_of_1() {
    every_message_arrives_once_in_order(Trigger::Count(1));
}

#[test]
fn several_connections_of_one_thread_keep_their_own_order() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 5, None, None).unwrap();
    let rpid = recv.pid();
    let coids = run_in(&send, move || {
        let coids: Vec<i32> = (0..3)
            .map(|_| connect(rpid, chid, 0, &attr(3, Duration::ZERO, 64)))
            .collect();
        // Interleaved puts: 0,1,2,0,1,2,... 30 per connection (10 triggers each).
        for seq in 0..30 {
            for (i, &c) in coids.iter().enumerate() {
                put(c, encode(i as u32, seq), seq);
            }
        }
        coids
    });
    let (got, sizes) = take(chid, 90);
    assert!(sizes.iter().all(|&s| s <= 5), "batch sizes {sizes:?}");
    let mut next = [0u32; 3];
    for m in &got {
        let (id, seq) = decode(&m.data);
        assert_eq!(m.info.coid, coids[id as usize]);
        assert_eq!(m.info.pid, send.pid());
        assert_eq!(seq, next[id as usize]);
        next[id as usize] += 1;
    }
    assert_eq!(next, [30; 3]);
    assert_nothing_more(chid);
    run_in(&send, move || {
        for c in coids {
            asyncmsg_connect_detach(c).unwrap();
        }
    });
    asyncmsg_channel_destroy(chid).unwrap();
}

/// With trigger_num_msg `n` and no time trigger, the library enters the kernel once per `n`
/// messages; the process counters on both sides add up to the messages put.
fn kernel_entries_per_message(n: u32) {
    const PUT: u32 = 64;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let send_before = send.counters().unwrap();
    let recv_before = recv.counters().unwrap();
    let (coid, after_puts) = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(n, Duration::ZERO, 128));
        for seq in 0..PUT {
            put(coid, encode(0, seq), seq);
        }
        (coid, asyncmsg_connection_stats(coid).unwrap())
    });
    assert_eq!(after_puts.msgs_put, PUT as u64);
    assert_eq!(after_puts.kernel_entries, (PUT / n) as u64);
    assert_eq!(after_puts.triggers, (PUT / n) as u64);
    assert!(after_puts.batches <= after_puts.triggers);

    let (got, sizes) = take(chid, PUT as usize);
    let seqs: Vec<u32> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, (0..PUT).collect::<Vec<_>>());
    assert!(sizes.iter().all(|&s| s <= 8), "batch sizes {sizes:?}");

    let s = run_in(&send, move || {
        let s = asyncmsg_connection_stats(coid).unwrap();
        asyncmsg_connect_detach(coid).unwrap();
        s
    });
    assert_eq!((s.msgs_put, s.msgs_taken), (PUT as u64, PUT as u64));
    assert_eq!(
        s.kernel_entries,
        (PUT / n) as u64,
        "a receive is no sender kernel entry"
    );
    assert!(s.batches >= 1 && s.batches <= s.triggers, "{s:?}");

    let sc = send.counters().unwrap();
    let rc = recv.counters().unwrap();
    assert_eq!(
        sc.async_triggers - send_before.async_triggers,
        (PUT / n) as u64
    );
    assert_eq!(sc.async_msgs_sent - send_before.async_msgs_sent, PUT as u64);
    assert_eq!(
        rc.async_msgs_received - recv_before.async_msgs_received,
        PUT as u64
    );
    assert_eq!(
        rc.async_batches_received - recv_before.async_batches_received,
        sizes.len() as u64
    );
    assert_eq!(sc.async_msgs_received, 0);
    assert_eq!(rc.async_msgs_sent, 0);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_count_trigger_of_1_enters_the_kernel_once_per_message() {
    kernel_entries_per_message(1);
}

#[test]
fn a_count_trigger_of_4_enters_the_kernel_once_per_4_messages() {
    kernel_entries_per_message(4);
}

#[test]
fn a_count_trigger_of_16_enters_the_kernel_once_per_16_messages() {
    kernel_entries_per_message(16);
}

#[test]
fn each_buffer_comes_back_once_through_its_callback_in_queue_order_on_one_library_thread() {
    const N: u32 = 50;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 7, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(5, Duration::ZERO, 16);
    a.call_back = Some(rec.callback());
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..N {
                put(coid, encode(7, i), 1000 + i);
            }
            (coid, std::thread::current().id())
        })
        .unwrap();
    let (got, _) = take(chid, N as usize);
    let (coid, putter) = join(producer);
    let seqs: Vec<u32> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());

    let calls = rec.wait(N as usize);
    assert_eq!(
        Recorder::pairs(&calls),
        (0..N).map(|i| (0, 1000 + i)).collect::<Vec<_>>()
    );
    let cb_thread = calls[0].thread;
    assert!(calls.iter().all(|c| c.thread == cb_thread), "one thread");
    assert_ne!(cb_thread, putter, "not the putting thread");
    assert_ne!(cb_thread, std::thread::current().id(), "not the receiver");
    for (i, c) in calls.into_iter().enumerate() {
        match c.buf {
            AsyncBuf::Flat(v) => assert_eq!(v, encode(7, i as u32), "the buffer put, back"),
            other => panic!("expected a flat buffer, got {other:?}"),
        }
    }
    let s = run_in(&send, move || {
        let s = asyncmsg_connection_stats(coid).unwrap();
        asyncmsg_connect_detach(coid).unwrap();
        s
    });
    assert_eq!((s.callbacks, s.msgs_taken), (N as u64, N as u64));
    std::thread::sleep(SHORT);
    assert_eq!(
        rec.len(),
        0,
        "a detach after delivery calls nothing back again"
    );
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_per_put_callback_overrides_the_attribute_callback() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 16, None, None).unwrap();
    let rpid = recv.pid();
    let (by_attr, by_put) = (Recorder::default(), Recorder::default());
    let mut a = attr(1, Duration::ZERO, 16);
    a.call_back = Some(by_attr.callback());
    let per_put = by_put.callback();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        for i in 0..10u32 {
            let cb = (i % 2 == 0).then(|| per_put.clone());
            asyncmsg_put_timeout(coid, encode(0, i), i, cb, LONG).unwrap();
        }
        coid
    });
    take(chid, 10);
    let (calls_put, calls_attr) = (by_put.wait(5), by_attr.wait(5));
    assert_eq!(
        Recorder::pairs(&calls_put),
        vec![(0, 0), (0, 2), (0, 4), (0, 6), (0, 8)]
    );
    assert_eq!(
        Recorder::pairs(&calls_attr),
        vec![(0, 1), (0, 3), (0, 5), (0, 7), (0, 9)]
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_per_put_callback_works_on_a_connection_without_an_attribute_callback() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 16, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let cb = rec.callback();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(2, Duration::ZERO, 16));
        for i in 0..6u32 {
            asyncmsg_put_timeout(coid, encode(0, i), i, Some(cb.clone()), LONG).unwrap();
        }
        coid
    });
    take(chid, 6);
    let calls = rec.wait(6);
    assert_eq!(
        Recorder::pairs(&calls),
        (0..6).map(|i| (0, i)).collect::<Vec<_>>()
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn putv_gathers_the_parts_into_one_message_and_the_callback_gets_the_parts_back() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 32, 4, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(2, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        let parts = vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec(), b"f".to_vec()];
        asyncmsg_putv(coid, parts, 42, None).unwrap();
        asyncmsg_putv(coid, vec![b"xyz".to_vec()], 43, None).unwrap();
        coid
    });
    let (got, _) = take(chid, 2);
    assert_eq!(got[0].data, b"abcdef");
    assert_eq!((got[0].info.msglen, got[0].info.srcmsglen), (6, 6));
    assert_eq!(got[1].data, b"xyz");
    let calls = rec.wait(2);
    assert_eq!(Recorder::pairs(&calls), vec![(0, 42), (0, 43)]);
    match &calls[0].buf {
        AsyncBuf::Parts(p) => assert_eq!(
            p,
            &vec![b"ab".to_vec(), Vec::new(), b"cde".to_vec(), b"f".to_vec()]
        ),
        other => panic!("expected the parts back, got {other:?}"),
    }
    match &calls[1].buf {
        AsyncBuf::Parts(p) => assert_eq!(p, &vec![b"xyz".to_vec()]),
        other => panic!("expected the parts back, got {other:?}"),
    }
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn an_asyncmsg_channel_shows_the_async_flag_in_the_kernel_snapshot() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 2, None, None).unwrap();
    let snap = k.snapshot();
    let ch = snap
        .channels
        .iter()
        .find(|c| c.pid == recv.pid() && c.chid == chid)
        .expect("the channel is listed");
    assert_ne!(ch.flags & _NTO_CHF_ASYNC, 0);
    asyncmsg_channel_destroy(chid).unwrap();
}
