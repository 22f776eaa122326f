//! asyncmsg triggers and back-pressure: untriggered messages stay with the sender, the time
//! trigger, blocking and non-blocking flush, a full send queue (blocking put, put timeout,
//! `_NTO_COF_NONBLOCK`), and changing the trigger with asyncmsg_connect_attr.

mod support;

use std::sync::mpsc;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::Errno;

#[test]
fn untriggered_messages_stay_with_the_sender_until_a_flush() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        let s = asyncmsg_connection_stats(coid).unwrap();
        assert_eq!((s.msgs_put, s.kernel_entries, s.triggers), (3, 0, 0));
        coid
    });
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    run_in(&send, move || {
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    });
    let b = asyncmsg_get(chid).unwrap();
    let seqs: Vec<u32> = b.iter().map(|m| decode(m.data).1).collect();
    assert_eq!(seqs, vec![0, 1, 2]);
    drop(b);
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EAGAIN));
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_time_trigger_delivers_without_a_flush_and_rearms_on_the_next_put() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::from_millis(5), 16));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let (got, _) = take(chid, 3);
    assert_eq!(
        got.iter().map(|m| decode(&m.data).1).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    // The timer fired once; the next put arms it again.
    run_in(&send, move || {
        for i in 3..5 {
            put(coid, encode(0, i), i);
        }
    });
    let (got, _) = take(chid, 2);
    assert_eq!(
        got.iter().map(|m| decode(&m.data).1).collect::<Vec<_>>(),
        vec![3, 4]
    );
    let s = run_in(&send, move || {
        let s = asyncmsg_connection_stats(coid).unwrap();
        asyncmsg_connect_detach(coid).unwrap();
        s
    });
    assert_eq!((s.msgs_put, s.msgs_taken), (5, 5));
    assert!(
        s.triggers >= 2,
        "one timer expiry per batch at least: {s:?}"
    );
    assert!(
        s.kernel_entries >= s.triggers + 2,
        "arming the timer: {s:?}"
    );
    asyncmsg_channel_destroy(chid).unwrap();
}

/// A producer puts 10 untriggered messages and flushes (blocking); the receiver starts late
/// and takes them in batches of 4: the flush returns only once all 10 are taken.
fn a_blocking_flush_waits_for_a_late_receiver(bounded: bool) {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let (tx, rx) = mpsc::channel();
    let flusher = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
            for i in 0..10 {
                put(coid, encode(0, i), i);
            }
            tx.send(coid).unwrap();
            let r = if bounded {
                asyncmsg_flush_timeout(coid, LONG)
            } else {
                asyncmsg_flush(coid, 0)
            };
            let s = asyncmsg_connection_stats(coid).unwrap();
            asyncmsg_connect_detach(coid).unwrap();
            (r, s)
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    assert!(
        !flusher.is_finished(),
        "flush returned before anything was taken"
    );
    let b = get_within(chid, LONG).unwrap();
    assert_eq!(b.len(), 4);
    drop(b);
    std::thread::sleep(SHORT);
    assert!(
        !flusher.is_finished(),
        "flush returned with 6 messages pending"
    );
    let (rest, sizes) = take(chid, 6);
    assert_eq!(sizes, vec![4, 2]);
    assert_eq!(decode(&rest[5].data).1, 9);
    let (r, s) = join(flusher);
    assert_eq!(r, Ok(()));
    assert_eq!((s.msgs_put, s.msgs_taken, s.triggers), (10, 10, 1));
    assert_nothing_more(chid);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_blocking_flush_returns_only_after_a_late_receiver_took_everything() {
    a_blocking_flush_waits_for_a_late_receiver(false);
}

#[test]
fn a_flush_timeout_succeeds_once_a_late_receiver_drained_the_queue() {
    a_blocking_flush_waits_for_a_late_receiver(true);
}

#[test]
fn a_nonblocking_flush_triggers_and_returns_at_once() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    // Nobody receives: a flush that waited would never return (the join bounds it).
    let (coid, s) = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
        for i in 0..5 {
            put(coid, encode(0, i), i);
        }
        assert_eq!(asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK), Ok(()));
        (coid, asyncmsg_connection_stats(coid).unwrap())
    });
    assert_eq!(
        (s.triggers, s.kernel_entries, s.batches, s.msgs_taken),
        (1, 1, 1, 0)
    );
    let b = asyncmsg_get(chid).unwrap();
    assert_eq!(
        b.iter().map(|m| decode(m.data).1).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    drop(b);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_flush_with_nobody_receiving_times_out_and_the_messages_still_arrive_later() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
        for i in 0..5 {
            put(coid, encode(0, i), i);
        }
        assert_eq!(asyncmsg_flush_timeout(coid, SHORT), Err(Errno::ETIMEDOUT));
        let s = asyncmsg_connection_stats(coid).unwrap();
        assert_eq!((s.msgs_put, s.msgs_taken), (5, 0));
        coid
    });
    let (got, sizes) = take(chid, 5);
    assert_eq!(
        sizes,
        vec![5],
        "the timed-out flush's trigger made one batch"
    );
    assert_eq!(
        got.iter().map(|m| decode(&m.data).1).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    run_in(&send, move || {
        // Nothing pending: a flush now returns at once.
        assert_eq!(asyncmsg_flush_timeout(coid, LONG), Ok(()));
        assert_eq!(asyncmsg_connection_stats(coid).unwrap().msgs_taken, 5);
        asyncmsg_connect_detach(coid).unwrap();
    });
    asyncmsg_channel_destroy(chid).unwrap();
}

/// `max_num_buffer` 4: three messages outstanding; the fourth put blocks until the receiver
/// takes some (with and without callbacks: with them, room comes back when the library thread
/// has run them).
fn a_put_on_a_full_queue_blocks_until_a_receiver_takes_some(callbacks: bool) {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 4);
    if callbacks {
        a.call_back = Some(rec.callback());
    }
    let (tx, rx) = mpsc::channel();
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..3 {
                asyncmsg_put_timeout(coid, encode(0, i), i, None, SHORT)
                    .map_err(|e| e.errno)
                    .expect("three messages fit");
            }
            tx.send(coid).unwrap();
            let r = asyncmsg_put(coid, encode(0, 3), 3, None).map_err(|e| e.errno);
            (coid, r)
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    assert!(!producer.is_finished(), "the 4th put did not block");
    // One batch: the three queued (the 4th may join it if its put lands while the kernel is
    // still taking from this ready connection).
    let mut got = messages(&get_within(chid, LONG).unwrap());
    assert!(got.len() >= 3, "{got:?}");
    let (coid, r) = join(producer);
    assert_eq!(r, Ok(()));
    if got.len() < 4 {
        got.extend(take(chid, 1).0);
    }
    let seqs: Vec<u32> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    assert_nothing_more(chid);
    if callbacks {
        let calls = rec.wait(4);
        assert_eq!(
            Recorder::pairs(&calls),
            vec![(0, 0), (0, 1), (0, 2), (0, 3)]
        );
    }
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_put_on_a_full_queue_blocks_until_a_receiver_takes_some_without_callbacks() {
    a_put_on_a_full_queue_blocks_until_a_receiver_takes_some(false);
}

#[test]
fn a_put_on_a_full_queue_blocks_until_a_receiver_takes_some_with_callbacks() {
    a_put_on_a_full_queue_blocks_until_a_receiver_takes_some(true);
}

#[test]
fn a_put_timeout_on_a_full_queue_fails_with_etimedout_and_returns_the_buffer() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 4));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        let e = asyncmsg_put_timeout(coid, encode(0, 3), 3, None, SHORT).unwrap_err();
        assert_eq!(e.errno, Errno::ETIMEDOUT);
        match e.buf {
            AsyncBuf::Flat(v) => assert_eq!(v, encode(0, 3)),
            other => panic!("expected the flat buffer back, got {other:?}"),
        }
        assert_eq!(asyncmsg_connection_stats(coid).unwrap().msgs_put, 3);
        coid
    });
    let (got, _) = take(chid, 3);
    assert_eq!(decode(&got[2].data).1, 2);
    run_in(&send, move || {
        // Room again: the same message goes now.
        put(coid, encode(0, 3), 3);
    });
    let (got, _) = take(chid, 1);
    assert_eq!(decode(&got[0].data).1, 3);
    assert_nothing_more(chid);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_nonblock_connection_fails_a_put_on_a_full_queue_with_eagain_at_once() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    // Nobody receives yet: a put that blocked would never return (the join bounds it).
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, _NTO_COF_NONBLOCK, &attr(1, Duration::ZERO, 4));
        for i in 0..3 {
            asyncmsg_put(coid, encode(0, i), i, None).unwrap();
        }
        let e = asyncmsg_put(coid, encode(0, 3), 3, None).unwrap_err();
        assert_eq!(e.errno, Errno::EAGAIN);
        assert_eq!(e.buf.into_vec(), encode(0, 3));
        coid
    });
    let (got, _) = take(chid, 3);
    assert_eq!(decode(&got[2].data).1, 2);
    run_in(&send, move || {
        asyncmsg_put(coid, encode(0, 3), 3, None).unwrap();
    });
    let (got, _) = take(chid, 1);
    assert_eq!(decode(&got[0].data).1, 3);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn connect_attr_returns_the_attributes_and_a_new_count_trigger_applies_to_the_next_puts() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
        let old = asyncmsg_connect_attr(coid, None).unwrap();
        assert_eq!(
            (
                old.buffer_size,
                old.max_num_buffer,
                old.trigger_num_msg,
                old.trigger_time
            ),
            (64, 16, 0, Duration::ZERO)
        );
        assert!(old.call_back.is_none());
        let mut new = old.clone();
        new.trigger_num_msg = 2;
        let before = asyncmsg_connect_attr(coid, Some(&new)).unwrap();
        assert_eq!(before.trigger_num_msg, 0, "set returns the old attributes");
        let now = asyncmsg_connect_attr(coid, None).unwrap();
        assert_eq!((now.trigger_num_msg, now.max_num_buffer), (2, 16));
        for i in 0..4 {
            put(coid, encode(0, i), i);
        }
        assert_eq!(asyncmsg_connection_stats(coid).unwrap().triggers, 2);
        coid
    });
    let b = asyncmsg_get(chid).unwrap();
    assert_eq!(b.len(), 4);
    drop(b);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_callback_set_with_connect_attr_gets_the_buffers_back() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let cb = rec.callback();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16));
        let mut a = asyncmsg_connect_attr(coid, None).unwrap();
        a.call_back = Some(cb);
        asyncmsg_connect_attr(coid, Some(&a)).unwrap();
        for i in 0..3 {
            put(coid, encode(0, i), 10 + i);
        }
        coid
    });
    take(chid, 3);
    let calls = rec.wait(3);
    assert_eq!(Recorder::pairs(&calls), vec![(0, 10), (0, 11), (0, 12)]);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}
