//! asyncmsg as an outside QNX programmer probes it: edge arguments (queue sizes, empty and
//! boundary messages, huge sizes and times), the exact firing of the count and time triggers,
//! flush and put with a zero timeout, what a detach or a channel destroy does to messages
//! already triggered, and the channel's event around such a detach. Every wait is bounded.

mod support;

use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::{Errno, Pulse, SigEvent};

/// A NONBLOCK channel: a get shows at once whether anything was triggered.
fn nb_channel(bufsz: usize, max: u32) -> i32 {
    asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, bufsz, max, None, None).unwrap()
}

/// Everything ready on NONBLOCK channel `chid` now (batch by batch, until EAGAIN).
fn drain_now(chid: i32) -> Vec<Got> {
    let mut out = Vec::new();
    loop {
        match asyncmsg_get(chid) {
            Ok(b) => out.extend(messages(&b)),
            Err(Errno::EAGAIN) => return out,
            Err(e) => panic!("asyncmsg_get: {e:?}"),
        }
    }
}

fn nothing_ready(chid: i32) {
    match asyncmsg_get(chid) {
        Err(Errno::EAGAIN) => {}
        Ok(b) => panic!("unexpected messages: {:?}", messages(&b)),
        Err(e) => panic!("expected EAGAIN, got {e:?}"),
    }
}

fn pulse_within(chid: i32, within: Duration) -> Result<Pulse, Errno> {
    let mut buf = [0u8; 64];
    userlib::qnx::timer_timeout(
        1,
        _NTO_TIMEOUT_RECEIVE,
        Some(u64::try_from(within.as_nanos()).unwrap()),
    )
    .unwrap();
    userlib::qnx::msg_receive_pulse(chid, &mut buf)?;
    Ok(Pulse::from_bytes(&buf).unwrap())
}

// ------------------------------------------------------------------ queue sizes

#[test]
fn a_queue_of_0_or_1_buffers_still_holds_one_message() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    for max in [0, 1, 2] {
        let coid = connect(
            p.pid(),
            chid,
            _NTO_COF_NONBLOCK,
            &attr(0, Duration::ZERO, max),
        );
        asyncmsg_put(coid, vec![1], 1, None).unwrap();
        let e = asyncmsg_put(coid, vec![2], 2, None).unwrap_err();
        assert_eq!(
            (e.errno, e.buf.into_vec()),
            (Errno::EAGAIN, vec![2]),
            "max {max}"
        );
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
        let got = drain_now(chid);
        assert_eq!(got.len(), 1, "max {max}");
        asyncmsg_connect_detach(coid).unwrap();
    }
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_queue_of_a_non_power_of_two_size_holds_max_num_buffer_minus_one() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 16);
    for max in [3u32, 5, 6, 9] {
        let coid = connect(
            p.pid(),
            chid,
            _NTO_COF_NONBLOCK,
            &attr(0, Duration::ZERO, max),
        );
        for i in 0..max - 1 {
            asyncmsg_put(coid, vec![i as u8], i, None)
                .unwrap_or_else(|e| panic!("max {max}: put {i}: {:?}", e.errno));
        }
        let e = asyncmsg_put(coid, vec![0xee], 99, None).unwrap_err();
        assert_eq!(e.errno, Errno::EAGAIN, "max {max}");
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
        let got: Vec<u8> = drain_now(chid).iter().map(|m| m.data[0]).collect();
        assert_eq!(got, (0..max as u8 - 1).collect::<Vec<_>>(), "max {max}");
        asyncmsg_connect_detach(coid).unwrap();
    }
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_queue_over_65536_buffers_is_einval_and_65536_is_accepted() {
    // deviations.md, Asynchronous messaging: "max_num_buffer above 65536 is EINVAL".
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 4);
    let a = attr(1, Duration::ZERO, 65537);
    assert_eq!(
        asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::EINVAL)
    );
    let a = attr(1, Duration::ZERO, u32::MAX);
    assert_eq!(
        asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::EINVAL)
    );
    let coid = connect(p.pid(), chid, 0, &attr(1, Duration::ZERO, 65536));
    put(coid, vec![7; 3], 1);
    assert_eq!(drain_now(chid)[0].data, vec![7; 3]);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_channel_of_huge_sizes_fails_its_get_with_enomem_instead_of_aborting() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    // deviations.md: a buffer_size of 2^32 - 1 or more is EINVAL.
    assert_eq!(
        asyncmsg_channel_create(0, 0o600, usize::MAX, 4, None, None),
        Err(Errno::EINVAL)
    );
    // The largest accepted buffer size times the most buffers: no arena of that size exists.
    let chid = asyncmsg_channel_create(
        _NTO_CHF_ASYNC_NONBLOCK,
        0o600,
        (1 << 32) - 2,
        u32::MAX,
        None,
        None,
    )
    .unwrap();
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::ENOMEM));
    asyncmsg_channel_destroy(chid).unwrap();
}

// ------------------------------------------------------------------ messages at the edges

#[test]
fn empty_messages_flat_and_gathered_arrive_empty_and_come_back_to_their_callbacks() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = nb_channel(16, 8);
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(0, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        asyncmsg_put(coid, Vec::new(), 1, None).unwrap();
        asyncmsg_putv(coid, Vec::new(), 2, None).unwrap();
        asyncmsg_putv(coid, vec![Vec::new(), Vec::new()], 3, None).unwrap();
        asyncmsg_putv(coid, vec![Vec::new(), vec![9, 8], Vec::new()], 4, None).unwrap();
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
        coid
    });
    let got = drain_now(chid);
    let summary: Vec<(i32, Vec<u8>, i64, i64)> = got
        .iter()
        .map(|m| (m.err, m.data.clone(), m.info.msglen, m.info.srcmsglen))
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, vec![], 0, 0),
            (0, vec![], 0, 0),
            (0, vec![], 0, 0),
            (0, vec![9, 8], 2, 2),
        ]
    );
    let calls = rec.wait(4);
    assert_eq!(
        Recorder::pairs(&calls),
        vec![(0, 1), (0, 2), (0, 3), (0, 4)]
    );
    let bufs: Vec<AsyncBuf> = calls.into_iter().map(|c| c.buf).collect();
    assert!(matches!(&bufs[0], AsyncBuf::Flat(v) if v.is_empty()));
    assert!(matches!(&bufs[1], AsyncBuf::Parts(p) if p.is_empty()));
    assert!(matches!(&bufs[2], AsyncBuf::Parts(p) if p.len() == 2));
    assert!(matches!(&bufs[3], AsyncBuf::Parts(p) if p[1] == vec![9, 8]));
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_too_long_message_gives_its_own_callback_emsgsize_and_its_buffer_back() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(8, 8);
    let (own, attr_rec) = (Recorder::default(), Recorder::default());
    let mut a = attr(3, Duration::ZERO, 8);
    a.call_back = Some(attr_rec.callback());
    let coid = connect(p.pid(), chid, 0, &a);
    asyncmsg_put(coid, vec![1; 9], 1, Some(own.callback())).unwrap();
    asyncmsg_putv(coid, vec![vec![2; 4], vec![3; 5]], 2, Some(own.callback())).unwrap();
    asyncmsg_put(coid, vec![4; 8], 3, None).unwrap(); // the count trigger: 3
    let got = drain_now(chid);
    let errs: Vec<(i32, usize)> = got.iter().map(|m| (m.err, m.data.len())).collect();
    let emsgsize = Errno::EMSGSIZE.0;
    assert_eq!(errs, vec![(emsgsize, 0), (emsgsize, 0), (0, 8)]);
    let calls = own.wait(2);
    assert_eq!(Recorder::pairs(&calls), vec![(emsgsize, 1), (emsgsize, 2)]);
    let mut calls = calls.into_iter();
    assert_eq!(calls.next().unwrap().buf.into_vec(), vec![1; 9]);
    match calls.next().unwrap().buf {
        AsyncBuf::Parts(p) => assert_eq!(p, vec![vec![2; 4], vec![3; 5]]),
        other => panic!("expected the parts back, got {other:?}"),
    }
    assert_eq!(Recorder::pairs(&attr_rec.wait(1)), vec![(0, 3)]);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn headers_name_the_sender_and_handles_round_trip_whole() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = nb_channel(32, 8);
    let (rpid, spid) = (recv.pid(), send.pid());
    let rec = Recorder::default();
    let mut a = attr(3, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        put(coid, vec![1; 32], u32::MAX);
        put(coid, vec![2; 1], 0);
        put(coid, vec![3; 17], 0x8000_0001);
        coid
    });
    let got = drain_now(chid);
    assert_eq!(got.len(), 3);
    for (m, len) in got.iter().zip([32i64, 1, 17]) {
        assert_eq!(
            (
                m.info.pid,
                m.info.chid,
                m.info.coid,
                m.info.msglen,
                m.info.srcmsglen
            ),
            (spid, chid, coid, len, len)
        );
        assert_eq!(m.err, 0);
    }
    assert_eq!(
        Recorder::pairs(&rec.wait(3)),
        vec![(0, u32::MAX), (0, 0), (0, 0x8000_0001)]
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

// ------------------------------------------------------------------ triggers

#[test]
fn the_count_trigger_fires_exactly_at_n_and_again_every_n() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 32);
    let coid = connect(p.pid(), chid, 0, &attr(5, Duration::ZERO, 32));
    for i in 0..4 {
        put(coid, encode(0, i), i);
        nothing_ready(chid);
    }
    put(coid, encode(0, 4), 4);
    let got = drain_now(chid);
    assert_eq!(got.len(), 5, "all five in one go at the fifth put");
    for i in 5..9 {
        put(coid, encode(0, i), i);
        nothing_ready(chid);
    }
    put(coid, encode(0, 9), 9);
    // Messages put after a trigger and before the get ride along: QNX's kernel
    // (msgreceive_async) takes a ready connection's queue up to its tail.
    for i in 10..13 {
        put(coid, encode(0, i), i);
    }
    let got: Vec<u32> = drain_now(chid).iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(got, (5..13).collect::<Vec<_>>());
    let s = asyncmsg_connection_stats(coid).unwrap();
    assert_eq!((s.msgs_put, s.triggers, s.msgs_taken), (13, 2, 13));
    // The three that rode along count towards the next batch (deviations.md, "Count trigger":
    // messages put since the last trigger): two more make five.
    put(coid, encode(0, 13), 13);
    nothing_ready(chid);
    put(coid, encode(0, 14), 14);
    let got: Vec<u32> = drain_now(chid).iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(got, vec![13, 14]);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_flush_restarts_the_count_of_the_count_trigger() {
    // deviations.md, "Count trigger": it counts messages put since the last trigger.
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 32);
    let coid = connect(p.pid(), chid, 0, &attr(4, Duration::ZERO, 32));
    for i in 0..3 {
        put(coid, encode(0, i), i);
    }
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    assert_eq!(drain_now(chid).len(), 3);
    for i in 3..6 {
        put(coid, encode(0, i), i);
    }
    nothing_ready(chid);
    put(coid, encode(0, 6), 6);
    let got: Vec<u32> = drain_now(chid).iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(got, vec![3, 4, 5, 6]);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_time_trigger_alone_delivers_after_its_time_and_not_before() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let period = Duration::from_millis(150);
    let coid = connect(p.pid(), chid, 0, &attr(0, period, 8));
    let t0 = Instant::now();
    put(coid, encode(0, 0), 0);
    put(coid, encode(0, 1), 1);
    let (got, sizes) = take(chid, 2);
    let waited = t0.elapsed();
    assert!(
        waited >= period,
        "delivered after {waited:?}, before {period:?}"
    );
    assert_eq!(sizes, vec![2], "one batch");
    assert_eq!(
        got.iter().map(|m| decode(&m.data).1).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let s = asyncmsg_connection_stats(coid).unwrap();
    assert_eq!(s.triggers, 1);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_batch_the_count_trigger_sent_is_not_triggered_again_by_the_timer() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    let coid = connect(p.pid(), chid, 0, &attr(2, Duration::from_millis(30), 8));
    put(coid, encode(0, 0), 0);
    put(coid, encode(0, 1), 1);
    assert_eq!(drain_now(chid).len(), 2);
    std::thread::sleep(Duration::from_millis(120));
    let s = asyncmsg_connection_stats(coid).unwrap();
    assert_eq!(s.triggers, 1, "{s:?}");
    // A lone message then goes by the timer.
    put(coid, encode(0, 2), 2);
    wait_until("the time trigger", || {
        asyncmsg_connection_stats(coid).unwrap().triggers == 2
    });
    assert_eq!(decode(&drain_now(chid)[0].data), (0, 2));
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn triggers_out_of_range_never_fire_and_a_flush_still_delivers() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    let a = attr(u32::MAX, Duration::from_secs(u64::MAX), 8);
    let coid = connect(p.pid(), chid, 0, &a);
    for i in 0..5 {
        put(coid, encode(0, i), i);
    }
    std::thread::sleep(SHORT);
    nothing_ready(chid);
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    assert_eq!(drain_now(chid).len(), 5);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn lowering_the_count_trigger_below_what_is_pending_fires_at_the_next_put() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 16);
    let coid = connect(p.pid(), chid, 0, &attr(10, Duration::ZERO, 16));
    for i in 0..5 {
        put(coid, encode(0, i), i);
    }
    let mut a = asyncmsg_connect_attr(coid, None).unwrap();
    a.trigger_num_msg = 3;
    asyncmsg_connect_attr(coid, Some(&a)).unwrap();
    nothing_ready(chid);
    put(coid, encode(0, 5), 5);
    assert_eq!(drain_now(chid).len(), 6);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_larger_max_num_buffer_through_connect_attr_leaves_the_queue_its_size() {
    // Reference 3.4: changing max_num_buffer has no effect on the allocated queue.
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 16);
    let coid = connect(
        p.pid(),
        chid,
        _NTO_COF_NONBLOCK,
        &attr(0, Duration::ZERO, 4),
    );
    let mut a = asyncmsg_connect_attr(coid, None).unwrap();
    a.max_num_buffer = 64;
    asyncmsg_connect_attr(coid, Some(&a)).unwrap();
    for i in 0..3 {
        asyncmsg_put(coid, vec![i], 0, None).unwrap();
    }
    assert_eq!(
        asyncmsg_put(coid, vec![3], 0, None).unwrap_err().errno,
        Errno::EAGAIN
    );
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

// ------------------------------------------------------------------ zero timeouts

#[test]
fn a_zero_flush_timeout_on_a_full_queue_times_out_at_once_and_keeps_the_messages() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    let coid = connect(p.pid(), chid, 0, &attr(0, Duration::ZERO, 4));
    for i in 0..3 {
        put(coid, encode(0, i), i);
    }
    let t0 = Instant::now();
    assert_eq!(
        asyncmsg_flush_timeout(coid, Duration::ZERO),
        Err(Errno::ETIMEDOUT)
    );
    assert!(t0.elapsed() < LONG);
    // The flush triggered them: they are there, in order.
    let got: Vec<u32> = drain_now(chid).iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(got, vec![0, 1, 2]);
    // With nothing pending a zero timeout succeeds.
    assert_eq!(asyncmsg_flush_timeout(coid, Duration::ZERO), Ok(()));
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_zero_put_timeout_on_a_full_queue_fails_with_etimedout_and_returns_the_buffer() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    let coid = connect(p.pid(), chid, 0, &attr(1, Duration::ZERO, 4));
    for i in 0..3 {
        put(coid, encode(0, i), i);
    }
    let e = asyncmsg_put_timeout(coid, vec![5; 5], 3, None, Duration::ZERO).unwrap_err();
    assert_eq!((e.errno, e.buf.into_vec()), (Errno::ETIMEDOUT, vec![5; 5]));
    assert_eq!(drain_now(chid).len(), 3, "the failed put queued nothing");
    asyncmsg_put_timeout(coid, vec![6], 4, None, Duration::ZERO).unwrap();
    assert_eq!(drain_now(chid)[0].data, vec![6]);
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_blocking_flush_of_a_connection_with_nothing_queued_returns_at_once() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = nb_channel(64, 8);
    let coid = connect(p.pid(), chid, 0, &attr(0, Duration::ZERO, 4));
    let h = p.spawn(move || asyncmsg_flush(coid, 0)).unwrap();
    assert_eq!(join(h), Ok(()));
    // Also once everything put was taken.
    put(coid, vec![1], 1);
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    assert_eq!(drain_now(chid).len(), 1);
    let h = p.spawn(move || asyncmsg_flush(coid, 0)).unwrap();
    assert_eq!(join(h), Ok(()));
    asyncmsg_connect_detach(coid).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

// ------------------------------------------------------------------ detach and destroy

#[test]
fn a_detach_takes_back_triggered_messages_nobody_took_and_the_channel_forgets_them() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(coid, encode(0, i), i); // each triggered at once
        }
        asyncmsg_connect_detach(coid).unwrap();
    });
    let ebadf = Errno::EBADF.0;
    assert_eq!(
        Recorder::pairs(&rec.wait(3)),
        vec![(ebadf, 0), (ebadf, 1), (ebadf, 2)]
    );
    // The channel does not hand out what the sender already took back.
    assert_nothing_more(chid);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_detach_of_the_only_connection_leaves_a_waiting_receiver_waiting() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let (tx, rx) = mpsc::channel();
    let getter = recv
        .spawn(move || {
            tx.send(userlib::qnx::gettid().unwrap()).unwrap();
            get_within(chid, Duration::from_millis(300)).map(|b| messages(&b))
        })
        .unwrap();
    wait_receive_blocked(&k, rpid, rx.recv_timeout(LONG).unwrap(), chid);
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 8));
        put(coid, encode(0, 0), 0); // never triggered
        asyncmsg_connect_detach(coid).unwrap();
    });
    assert_eq!(join(getter), Err(Errno::ETIMEDOUT));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_channel_destroyed_under_pending_messages_fails_later_calls_with_ebadf_and_callbacks_too() {
    // Pending messages of a connection whose channel went away are never taken: their callbacks
    // say EBADF (reference 3.4/3.6; deviations.md, "delivery to a dead receiver": once the sender
    // detaches), and puts and flushes on it fail with EBADF.
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let chid = run_in(&recv, || nb_channel(64, 8));
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(2, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(coid, encode(0, i), i); // two triggered, one not
        }
        coid
    });
    run_in(&recv, move || asyncmsg_channel_destroy(chid).unwrap());
    let (put_err, flush_err, buf) = run_in(&send, move || {
        let e = asyncmsg_put(coid, vec![4], 4, None).unwrap_err();
        let f = asyncmsg_flush(coid, 0);
        (e.errno, f, e.buf.into_vec())
    });
    assert_eq!(
        (put_err, flush_err, buf),
        (Errno::EBADF, Err(Errno::EBADF), vec![4])
    );
    assert!(
        rec.len() <= 3,
        "no callback says 0 for a message nobody took"
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    let ebadf = Errno::EBADF.0;
    assert_eq!(
        Recorder::pairs(&rec.wait(3)),
        vec![(ebadf, 0), (ebadf, 1), (ebadf, 2)]
    );
}

#[test]
fn after_a_detach_emptied_the_channel_the_next_trigger_delivers_the_event_again() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let ochid = userlib::qnx::channel_create(0).unwrap();
    let ecoid = userlib::qnx::connect_attach(0, 0, ochid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let ev = SigEvent::pulse(ecoid, -1, 9, 1);
    let chid =
        asyncmsg_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 0o600, 64, 8, Some(&ev), None).unwrap();
    let rpid = recv.pid();
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
        put(coid, encode(0, 0), 0); // empty -> ready: an event
        asyncmsg_connect_detach(coid).unwrap(); // ready -> empty, nothing taken
    });
    assert_eq!(pulse_within(ochid, LONG).unwrap().code, 9);
    nothing_ready(chid);
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 8));
        put(coid, encode(1, 0), 0); // empty -> ready again
        coid
    });
    assert_eq!(
        pulse_within(ochid, LONG).map(|p| p.code),
        Ok(9),
        "the channel went empty -> ready again"
    );
    assert_eq!(decode(&drain_now(chid)[0].data), (1, 0));
    asyncmsg_channel_destroy(chid).unwrap();
}

// ------------------------------------------------------------------ order and exactly once

#[test]
fn through_a_two_slot_queue_every_message_and_callback_comes_once_in_order() {
    const N: u32 = 400;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 3, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(0, Duration::from_millis(1), 2);
    a.call_back = Some(rec.callback());
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..N {
                put(coid, encode(3, i), i);
            }
            coid
        })
        .unwrap();
    let (got, sizes) = take(chid, N as usize);
    let coid = join(producer);
    // (One message fits the queue at a time, but a batch may take the next one too: the
    // receiver's take re-queues a connection whose tail moved while it took, and a producer on
    // another CPU can put again as soon as the head moves. No batch passes the channel's 3.)
    assert!(
        sizes.iter().all(|&s| (1..=3).contains(&s)),
        "batches within the channel's limit: {sizes:?}"
    );
    let seqs: Vec<u32> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());
    let calls = rec.wait(N as usize);
    assert_eq!(
        Recorder::pairs(&calls),
        (0..N).map(|i| (0, i)).collect::<Vec<_>>()
    );
    assert!(calls
        .into_iter()
        .all(|c| decode(&c.buf.into_vec()).1 == c.handle));
    assert_nothing_more(chid);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn two_threads_putting_on_one_connection_each_keep_their_order_and_lose_nothing() {
    const N: u32 = 300;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        connect(rpid, chid, 0, &attr(7, Duration::from_millis(2), 8))
    });
    let producers: Vec<_> = (0..2u32)
        .map(|t| {
            send.spawn(move || {
                for i in 0..N {
                    put(coid, encode(t, i), i);
                }
            })
            .unwrap()
        })
        .collect();
    let (got, _) = take(chid, 2 * N as usize);
    producers.into_iter().for_each(join);
    let mut next = [0u32; 2];
    for m in &got {
        let (t, i) = decode(&m.data);
        assert_eq!(i, next[t as usize], "producer {t}");
        next[t as usize] += 1;
    }
    assert_eq!(next, [N, N]);
    assert_nothing_more(chid);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_thread_rebound_to_another_process_puts_on_that_process_connection() {
    let k = kernel();
    let (a, b, recv) = (process(&k), process(&k), process(&k));
    let chid = run_in(&recv, || nb_channel(64, 8));
    let rpid = recv.pid();
    let at = attr(1, Duration::ZERO, 8);
    let coid_a = {
        let _g = bind(&a);
        let coid = connect(rpid, chid, 0, &at);
        put(coid, vec![0xa], 1);
        coid
    };
    {
        let _g = bind(&b);
        // The same coid number means nothing in b yet.
        let e = asyncmsg_put(coid_a, vec![0xb0], 2, None).unwrap_err();
        assert_eq!(e.errno, Errno::EBADF);
        let coid_b = connect(rpid, chid, 0, &at);
        put(coid_b, vec![0xb], 3);
    }
    {
        let _g = bind(&a);
        put(coid_a, vec![0xa1], 4);
    }
    let got = run_in(&recv, move || drain_now(chid));
    let seen: Vec<(i32, Vec<u8>)> = got.iter().map(|m| (m.info.pid, m.data.clone())).collect();
    let (apid, bpid) = (a.pid(), b.pid());
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.contains(&(apid, vec![0xa])), "{seen:?}");
    assert!(seen.contains(&(bpid, vec![0xb])), "{seen:?}");
    assert!(seen.contains(&(apid, vec![0xa1])), "{seen:?}");
}

#[test]
fn a_zero_timer_timeout_on_an_empty_blocking_channel_times_out_at_once() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        get_within(chid, Duration::ZERO).err(),
        Some(Errno::ETIMEDOUT)
    );
    assert!(t0.elapsed() < LONG);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_callback_that_detaches_its_own_connection_gets_the_rest_back_with_ebadf() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    // One message a get, so that the callback of the first runs while the rest wait.
    let chid = nb_channel(64, 1);
    let rec = Recorder::default();
    let inner = rec.callback();
    let coid_cell = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(-1));
    let cc = coid_cell.clone();
    let cb: AsyncCallback = std::sync::Arc::new(move |err, buf, handle| {
        if handle == 0 {
            let _ = asyncmsg_connect_detach(cc.load(std::sync::atomic::Ordering::SeqCst));
        }
        inner(err, buf, handle)
    });
    let mut a = attr(0, Duration::ZERO, 8);
    a.call_back = Some(cb);
    let coid = connect(p.pid(), chid, 0, &a);
    coid_cell.store(coid, std::sync::atomic::Ordering::SeqCst);
    for i in 0..3 {
        put(coid, vec![i as u8], i);
    }
    asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
    assert_eq!(get_within(chid, LONG).unwrap().len(), 1);
    let ebadf = Errno::EBADF.0;
    assert_eq!(
        Recorder::pairs(&rec.wait(3)),
        vec![(0, 0), (ebadf, 1), (ebadf, 2)]
    );
    nothing_ready(chid);
    assert_eq!(asyncmsg_connect_detach(coid), Err(Errno::EINVAL));
    asyncmsg_channel_destroy(chid).unwrap();
}
