//! asyncmsg receiving: batch size, round-robin across connections, oversized messages,
//! non-blocking and blocking channels, TimerTimeout, and the channel's event.

mod support;

use std::sync::mpsc;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::{Errno, Pulse, SigEvent};

#[test]
fn a_get_takes_at_most_max_num_buffer_messages() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16));
        for i in 0..10 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let mut seqs = Vec::new();
    for want in [4, 4, 2] {
        let b = asyncmsg_get(chid).unwrap();
        assert_eq!(b.len(), want);
        seqs.extend(b.iter().map(|m| decode(m.data).1));
    }
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn successive_gets_round_robin_across_connections() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let coids = run_in(&send, move || {
        let a = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 32));
        let b = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 32));
        // All of a's backlog is ready before any of b's.
        for i in 0..12 {
            put(a, encode(0, i), i);
        }
        for i in 0..12 {
            put(b, encode(1, i), i);
        }
        [a, b]
    });
    let mut batches: Vec<Vec<(u32, u32)>> = Vec::new();
    loop {
        match asyncmsg_get(chid) {
            Ok(b) => {
                assert!(b.len() <= 4);
                batches.push(b.iter().map(|m| decode(m.data)).collect());
                for m in b.iter() {
                    assert_eq!(m.info.coid, coids[decode(m.data).0 as usize]);
                }
            }
            Err(e) => {
                assert_eq!(e, Errno::EAGAIN);
                break;
            }
        }
    }
    let first_two: Vec<u32> = batches[..2].iter().flatten().map(|m| m.0).collect();
    assert!(
        first_two.contains(&0) && first_two.contains(&1),
        "one connection took the first two batches: {batches:?}"
    );
    for id in 0..2 {
        let seqs: Vec<u32> = batches
            .iter()
            .flatten()
            .filter(|m| m.0 == id)
            .map(|m| m.1)
            .collect();
        assert_eq!(seqs, (0..12).collect::<Vec<_>>(), "connection {id}");
    }
    run_in(&send, move || {
        for c in coids {
            asyncmsg_connect_detach(c).unwrap();
        }
    });
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn an_oversized_message_arrives_as_emsgsize_without_data_and_those_behind_it_intact() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(5, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        put(coid, vec![1; 16], 1); // exactly the channel's buffer size
        put(coid, vec![2; 17], 2); // one byte too long
        put(coid, vec![3; 40], 3);
        asyncmsg_putv(coid, vec![vec![5; 10], vec![6; 10]], 5, None).unwrap(); // 20 gathered
        put(coid, vec![4; 5], 4);
        coid
    });
    let (got, sizes) = take(chid, 5);
    assert_eq!(sizes, vec![5]);
    let summary: Vec<(i32, Vec<u8>, i64, i64)> = got
        .iter()
        .map(|m| (m.err, m.data.clone(), m.info.msglen, m.info.srcmsglen))
        .collect();
    let emsgsize = Errno::EMSGSIZE.0;
    assert_eq!(
        summary,
        vec![
            (0, vec![1; 16], 16, 16),
            (emsgsize, vec![], 0, 17),
            (emsgsize, vec![], 0, 40),
            (emsgsize, vec![], 0, 20),
            (0, vec![4; 5], 5, 5),
        ]
    );
    let calls = rec.wait(5);
    assert_eq!(
        Recorder::pairs(&calls),
        vec![(0, 1), (emsgsize, 2), (emsgsize, 3), (emsgsize, 5), (0, 4)]
    );
    let mut calls = calls.into_iter();
    assert_eq!(
        calls.nth(1).unwrap().buf.into_vec(),
        vec![2; 17],
        "buffers come back"
    );
    match calls.nth(1).unwrap().buf {
        AsyncBuf::Parts(p) => assert_eq!(p, vec![vec![5; 10], vec![6; 10]]),
        other => panic!("expected the parts back, got {other:?}"),
    }
    let s = run_in(&send, move || {
        let s = asyncmsg_connection_stats(coid).unwrap();
        asyncmsg_connect_detach(coid).unwrap();
        s
    });
    assert_eq!((s.msgs_taken, s.callbacks), (5, 5));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_nonblock_channel_returns_eagain_when_empty() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_blocking_get_on_an_empty_channel_is_bounded_by_timer_timeout() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(get_within(chid, SHORT).err(), Some(Errno::ETIMEDOUT));
    // A NULL timeout polls.
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::ETIMEDOUT));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_blocked_get_wakes_with_the_batch_a_sender_triggers() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let (rpid, (tx, rx)) = (recv.pid(), mpsc::channel());
    let receiver = recv
        .spawn(move || {
            tx.send(userlib::qnx::gettid().unwrap()).unwrap();
            get_within(chid, LONG).map(|b| messages(&b))
        })
        .unwrap();
    let tid = rx.recv_timeout(LONG).unwrap();
    wait_receive_blocked(&k, rpid, tid, chid);
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(3, Duration::ZERO, 8));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let got = join(receiver).unwrap();
    assert_eq!(
        got.iter().map(|m| decode(&m.data).1).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(got[0].info.pid, send.pid());
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn the_channel_event_announces_messages_and_a_get_drains_them() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let ochid = userlib::qnx::channel_create(0).unwrap();
    let ecoid = userlib::qnx::connect_attach(0, 0, ochid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let ev = SigEvent::pulse(ecoid, -1, 9, 77);
    let chid =
        asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, Some(&ev), None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        connect(rpid, chid, 0, &attr(4, Duration::ZERO, 16))
    });
    for round in 0..2u32 {
        run_in(&send, move || {
            for i in 0..4 {
                put(coid, encode(round, i), i);
            }
        });
        let mut buf = [0u8; 64];
        userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG.as_nanos() as u64)).unwrap();
        userlib::qnx::msg_receive_pulse(ochid, &mut buf).unwrap();
        let p = Pulse::from_bytes(&buf).unwrap();
        assert_eq!((p.code, p.value_int()), (9, 77), "round {round}");
        let b = asyncmsg_get(chid).unwrap();
        assert_eq!(
            b.iter().map(|m| decode(m.data)).collect::<Vec<_>>(),
            (0..4).map(|i| (round, i)).collect::<Vec<_>>()
        );
        drop(b);
        assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    }
    // One event per batch here: no further pulse is queued.
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(
        userlib::qnx::msg_receive_pulse(ochid, &mut [0u8; 64]),
        Err(Errno::ETIMEDOUT)
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
    userlib::qnx::connect_detach(ecoid).unwrap();
    userlib::qnx::channel_destroy(ochid).unwrap();
}

#[test]
fn a_channel_event_is_not_delivered_while_a_receiver_waits_in_get() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let ochid = userlib::qnx::channel_create(0).unwrap();
    let ecoid = userlib::qnx::connect_attach(0, 0, ochid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let ev = SigEvent::pulse(ecoid, -1, 9, 77);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, Some(&ev), None).unwrap();
    let (rpid, (tx, rx)) = (recv.pid(), mpsc::channel());
    let receiver = recv
        .spawn(move || {
            tx.send(userlib::qnx::gettid().unwrap()).unwrap();
            get_within(chid, LONG).map(|b| b.len())
        })
        .unwrap();
    wait_receive_blocked(&k, rpid, rx.recv_timeout(LONG).unwrap(), chid);
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(2, Duration::ZERO, 16));
        put(coid, encode(0, 0), 0);
        put(coid, encode(0, 1), 1);
        coid
    });
    assert_eq!(join(receiver), Ok(2));
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(
        userlib::qnx::msg_receive_pulse(ochid, &mut [0u8; 64]),
        Err(Errno::ETIMEDOUT)
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn the_channel_event_still_arrives_after_the_creating_thread_exited() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let ochid = userlib::qnx::channel_create(0).unwrap();
    let ecoid = userlib::qnx::connect_attach(0, 0, ochid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let chid = run_in(&recv, move || {
        let ev = SigEvent::pulse(ecoid, -1, 3, 5);
        asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, Some(&ev), None).unwrap()
    });
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
        put(coid, encode(0, 0), 0);
        coid
    });
    let mut buf = [0u8; 64];
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG.as_nanos() as u64)).unwrap();
    userlib::qnx::msg_receive_pulse(ochid, &mut buf).unwrap();
    let p = Pulse::from_bytes(&buf).unwrap();
    assert_eq!((p.code, p.value_int()), (3, 5));
    assert_eq!(asyncmsg_get(chid).unwrap().len(), 1);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn the_channel_event_comes_only_when_the_channel_goes_from_empty_to_ready() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let ochid = userlib::qnx::channel_create(0).unwrap();
    let ecoid = userlib::qnx::connect_attach(0, 0, ochid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let ev = SigEvent::pulse(ecoid, -1, 4, 1);
    let chid =
        asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, Some(&ev), None).unwrap();
    let rpid = recv.pid();
    let coids = run_in(&send, move || {
        let a = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
        let b = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
        put(a, encode(0, 0), 0); // empty -> ready: the event
        put(a, encode(0, 1), 1); // already ready
        put(b, encode(1, 0), 0); // the channel was not empty
        [a, b]
    });
    let mut buf = [0u8; 64];
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    userlib::qnx::msg_receive_pulse(ochid, &mut buf).unwrap();
    assert_eq!(Pulse::from_bytes(&buf).unwrap().code, 4);
    userlib::qnx::timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(
        userlib::qnx::msg_receive_pulse(ochid, &mut buf),
        Err(Errno::ETIMEDOUT),
        "one event for the three triggers"
    );
    assert_eq!(asyncmsg_get(chid).unwrap().len(), 3);
    run_in(&send, move || {
        for c in coids {
            asyncmsg_connect_detach(c).unwrap();
        }
    });
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_receiver_does_not_inherit_the_senders_priority() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let (rpid, (tx, rx)) = (recv.pid(), mpsc::channel());
    let receiver = recv
        .spawn_with_priority(7, move || {
            tx.send(userlib::qnx::gettid().unwrap()).unwrap();
            let n = get_within(chid, LONG).map(|b| b.len());
            (n, userlib::qnx::thread_priority().unwrap())
        })
        .unwrap();
    wait_receive_blocked(&k, rpid, rx.recv_timeout(LONG).unwrap(), chid);
    let coid = join(
        send.spawn_with_priority(40, move || {
            let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
            put(coid, encode(0, 0), 0);
            coid
        })
        .unwrap(),
    );
    let (n, prio) = join(receiver);
    assert_eq!(n, Ok(1));
    assert_eq!(prio, (7, 7));
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn two_receivers_together_take_every_message_exactly_once() {
    const PER: u32 = 150;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 3, None, None).unwrap();
    let rpid = recv.pid();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let receivers: Vec<_> = (0..2)
        .map(|_| {
            let (seen, done) = (seen.clone(), done.clone());
            recv.spawn(move || {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    match get_within(chid, Duration::from_millis(20)) {
                        Ok(b) => {
                            let ms: Vec<(u32, u32)> = b.iter().map(|m| decode(m.data)).collect();
                            // Within a batch, each connection's messages are in order.
                            for w in ms.windows(2) {
                                if w[0].0 == w[1].0 {
                                    assert_eq!(w[1].1, w[0].1 + 1, "batch {ms:?}");
                                }
                            }
                            seen.lock().unwrap().extend(ms);
                        }
                        Err(Errno::ETIMEDOUT) => {}
                        Err(e) => panic!("asyncmsg_get: {e:?}"),
                    }
                }
            })
            .unwrap()
        })
        .collect();
    let producers: Vec<_> = (0..2u32)
        .map(|id| {
            send.spawn(move || {
                let coid = connect(rpid, chid, 0, &attr(2, Duration::ZERO, 8));
                for i in 0..PER {
                    put(coid, encode(id, i), i);
                }
                wait_until("everything taken", || {
                    asyncmsg_connection_stats(coid).unwrap().msgs_taken == PER as u64
                });
                asyncmsg_connect_detach(coid).unwrap();
            })
            .unwrap()
        })
        .collect();
    for p in producers {
        join(p);
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    for r in receivers {
        join(r);
    }
    let mut all = seen.lock().unwrap().clone();
    all.sort_unstable();
    let expect: Vec<(u32, u32)> = (0..2)
        .flat_map(|id| (0..PER).map(move |i| (id, i)))
        .collect();
    assert_eq!(all, expect, "each message exactly once");
    asyncmsg_channel_destroy(chid).unwrap();
}
