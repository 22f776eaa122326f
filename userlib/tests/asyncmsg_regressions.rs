//! Regressions: behaviours that were once wrong.

mod support;

use std::time::{Duration, Instant};
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;

#[test]
fn a_full_queue_of_untriggered_messages_is_sent_instead_of_blocking_the_put_forever() {
    // Count trigger 8 can never be reached with 3 outstanding messages at most: the 4th put
    // must send what the queue holds rather than wait for room nobody would make.
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(8, Duration::ZERO, 4));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let h = send.spawn(move || {
        asyncmsg_put_timeout(coid, encode(0, 3), 3, None, LONG).map_err(|e| e.errno)?;
        asyncmsg_flush_timeout(coid, LONG)?;
        asyncmsg_connection_stats(coid)
    });
    let (got, _) = take(chid, 4);
    let seqs: Vec<_> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let s = join(h.unwrap()).unwrap();
    assert_eq!((s.msgs_put, s.msgs_taken), (4, 4));
    assert!(
        s.triggers >= 2,
        "the full queue triggered, then the flush: {s:?}"
    );
}

#[test]
fn a_time_trigger_left_armed_by_an_earlier_batch_does_not_cut_the_next_batch_short() {
    // A batch that went by the count trigger leaves the timer armed; the next batch's first
    // message must still wait its full trigger_time (measured from its own put: a lower bound,
    // which load can only lengthen). (A receiver slower than the sender would take queued
    // messages along with an earlier batch: the kernel drains a queue up to its tail.)
    let period = Duration::from_millis(60);
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(4, period, 16));
        for i in 0..4 {
            put(coid, encode(0, i), i); // the 1st arms the timer; the 4th triggers the batch
        }
        coid
    });
    // Take the first batch, so that the next message travels on its own.
    let (first, _) = take(chid, 4);
    assert_eq!(first.len(), 4);
    let put_at = run_in(&send, move || {
        std::thread::sleep(period / 2);
        let at = Instant::now();
        put(coid, encode(0, 4), 4); // a new batch, younger than the timer still armed
        at
    });
    let (last, _) = take(chid, 1);
    let waited = put_at.elapsed();
    assert_eq!(decode(&last[0].data), (0, 4));
    assert!(
        waited >= period,
        "delivered {waited:?} after its put, before trigger_time {period:?}"
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

#[test]
fn callbacks_run_as_a_thread_of_the_sending_process() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let spid = send.pid();
    let (tx, rx) = std::sync::mpsc::channel();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16));
        let tx = std::sync::Mutex::new(tx);
        let cb: AsyncCallback = std::sync::Arc::new(move |_, _, _| {
            let _ = tx.lock().unwrap().send(userlib::qnx::getpid());
        });
        asyncmsg_put(coid, encode(0, 0), 0, Some(cb))
            .map_err(|e| e.errno)
            .unwrap();
        coid
    });
    let (got, _) = take(chid, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(rx.recv_timeout(LONG).unwrap(), Ok(spid));
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

#[test]
fn the_library_channel_destroyed_by_the_program_detaches_its_connections_first() {
    // The library's private channel is an ordinary chid of the process: a program that
    // destroys it ends the library, which must detach its connections (the kernel lets go of
    // their queues) before freeing them.
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 16));
        put(coid, encode(0, 0), 0);
        // The library's channel is the sender process's first chid.
        userlib::qnx::channel_destroy(1).unwrap();
        wait_until("the library to detach", || {
            asyncmsg_connection_stats(coid).is_err()
        });
        let r = asyncmsg_put(coid, encode(0, 1), 1, None);
        assert_eq!(r.err().map(|e| e.errno), Some(userlib::Errno::EBADF));
    });
    // The receiver finds nothing (the connection is gone) and the kernel is intact.
    assert_eq!(
        get_within(chid, Duration::from_millis(20)).err(),
        Some(userlib::Errno::ETIMEDOUT)
    );
    assert_eq!(
        k.snapshot()
            .connections
            .iter()
            .filter(|c| c.pid == send.pid() && c.chid == chid)
            .count(),
        0
    );
}

#[test]
fn a_timer_period_too_long_to_represent_fires_once_and_leaves_the_kernel_working() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let chan = userlib::Channel::create(0).unwrap();
        let me = userlib::Connection::attach(0, chan.chid()).unwrap();
        let t = userlib::Timer::monotonic(&me.pulse_event(-1, 1, 0)).unwrap();
        t.start(Duration::from_millis(1), Duration::MAX).unwrap();
        assert!(matches!(
            chan.receive_timeout(&mut [0u8; 64], LONG).unwrap(),
            userlib::Received::Pulse(_)
        ));
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            t.info().unwrap().fired,
            1,
            "the next expiry saturates to never"
        );
        assert!(chan
            .receive_timeout(&mut [0u8; 64], Duration::from_millis(10))
            .is_err());
    });
    assert!(k.kernel_entries() > 0);
}

#[test]
fn gathered_and_flat_puts_mixed_over_many_queue_wraps_arrive_whole_and_in_order() {
    // Without callbacks the producer recycles taken slots itself, half a queue at a time, by a
    // fast path for flat buffers and a general one while gathered messages are in the ring.
    // Mix the two (and an oversized message, which the kernel fails with EMSGSIZE) over many
    // wraps of a small ring: every message must arrive once, whole and in order, and the
    // failed one as an error without data.
    const N: u32 = 600;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 16, 8, None, None).unwrap();
    let rpid = recv.pid();
    let h = send.spawn(move || {
        let coid = connect(rpid, chid, 0, &attr(3, Duration::ZERO, 8));
        for i in 0..N {
            let m = encode(0, i);
            let r = if i == 301 {
                // Longer than the channel's 16-byte buffers.
                asyncmsg_put_timeout(coid, vec![7u8; 40], i, None, LONG)
            } else if i % 5 == 0 {
                asyncmsg_putv(coid, vec![m[..3].to_vec(), m[3..].to_vec()], i, None)
            } else {
                let mut b = asyncmsg_malloc(16).map_err(|e| AsyncPutError {
                    errno: e,
                    buf: AsyncBuf::Flat(Vec::new()),
                })?;
                b.copy_from_slice(&m);
                asyncmsg_put_timeout(coid, b, i, None, LONG)
            };
            r?;
        }
        asyncmsg_flush_timeout(coid, LONG).map_err(|errno| AsyncPutError {
            errno,
            buf: AsyncBuf::Flat(Vec::new()),
        })?;
        Ok::<_, AsyncPutError>(asyncmsg_connection_stats(coid).unwrap())
    });
    let (got, _) = take(chid, N as usize);
    for (i, m) in got.iter().enumerate() {
        if i == 301 {
            assert_eq!(
                (m.err, m.data.len()),
                (userlib::Errno::EMSGSIZE.0, 0),
                "message 301"
            );
            assert_eq!(m.info.srcmsglen, 40, "the failed message's real length");
        } else {
            assert_eq!(m.err, 0, "message {i}");
            assert_eq!(decode(&m.data), (0, i as u32), "message {i}");
        }
    }
    let s = match join(h.unwrap()) {
        Ok(s) => s,
        Err(e) => panic!("producer failed: {:?}", e.errno),
    };
    assert_eq!((s.msgs_put, s.msgs_taken), (N as u64, N as u64));
    assert_nothing_more(chid);
}
