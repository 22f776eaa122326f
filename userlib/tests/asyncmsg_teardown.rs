//! asyncmsg teardown: detaching with messages queued, destroying a channel under blocked
//! producers and receivers, processes exiting, the receive-buffer callback, and the kernel
//! pools returning to their baseline.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::{Errno, Kernel};

#[test]
fn a_detach_reports_taken_messages_with_0_and_discarded_ones_with_ebadf_once_each() {
    const N: u32 = 10;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(0, Duration::ZERO, 16);
    a.call_back = Some(rec.callback());
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        for i in 0..N {
            put(coid, encode(0, i), i);
        }
        asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK).unwrap();
        coid
    });
    // The receiver takes one batch (4 of 10), then the sender detaches.
    let b = get_within(chid, LONG).unwrap();
    let taken: Vec<u32> = b.iter().map(|m| decode(m.data).1).collect();
    drop(b);
    assert_eq!(taken, vec![0, 1, 2, 3]);
    let before = run_in(&send, move || {
        let s = asyncmsg_connection_stats(coid).unwrap();
        asyncmsg_connect_detach(coid).unwrap();
        s
    });
    assert_eq!((before.msgs_put, before.msgs_taken), (N as u64, 4));
    let calls = rec.wait(N as usize);
    let expect: Vec<(i32, u32)> = (0..N)
        .map(|i| (if i < 4 { 0 } else { Errno::EBADF.0 }, i))
        .collect();
    assert_eq!(
        Recorder::pairs(&calls),
        expect,
        "every handle once, in order"
    );
    for (i, c) in calls.into_iter().enumerate() {
        assert_eq!(
            c.buf.into_vec(),
            encode(0, i as u32),
            "buffer {i} comes back"
        );
    }
    // The discarded ones never arrive.
    assert_nothing_more(chid);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_detach_without_callbacks_drops_the_queued_messages() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(2, Duration::ZERO, 16));
        for i in 0..6 {
            put(coid, encode(0, i), i);
        }
        asyncmsg_connect_detach(coid).unwrap();
    });
    // Three triggers linked the connection; the detach unlinked it: nothing arrives.
    assert_nothing_more(chid);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_detach_releases_a_put_blocked_on_the_same_connection_with_ebadf() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 4));
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    let (tx, rx) = mpsc::channel();
    let blocked = send
        .spawn(move || {
            tx.send(()).unwrap();
            asyncmsg_put_timeout(coid, encode(0, 3), 3, None, Duration::from_secs(3))
                .map_err(|e| (e.errno, e.buf.into_vec()))
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    assert_eq!(join(blocked), Err((Errno::EBADF, encode(0, 3))));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_detach_releases_a_flush_blocked_on_the_same_connection_with_ebadf() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 8));
        put(coid, encode(0, 0), 0);
        coid
    });
    let (tx, rx) = mpsc::channel();
    let blocked = send
        .spawn(move || {
            tx.send(()).unwrap();
            asyncmsg_flush_timeout(coid, Duration::from_secs(3))
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    assert_eq!(join(blocked), Err(Errno::EBADF));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_channel_destroy_releases_a_put_blocked_on_a_full_queue_with_ebadf() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(0, Duration::ZERO, 4);
    a.call_back = Some(rec.callback());
    let (tx, rx) = mpsc::channel();
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..3 {
                put(coid, encode(0, i), i);
            }
            tx.send(()).unwrap();
            let r = asyncmsg_put_timeout(coid, encode(0, 3), 3, None, LONG)
                .map_err(|e| (e.errno, e.buf.into_vec()));
            (coid, r)
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    assert!(!producer.is_finished(), "the 4th put did not block");
    asyncmsg_channel_destroy(chid).unwrap();
    let (coid, r) = join(producer);
    assert_eq!(r, Err((Errno::EBADF, encode(0, 3))));
    run_in(&send, move || {
        // The connection is dead: puts and flushes fail at once.
        let e = asyncmsg_put(coid, vec![5], 5, None).unwrap_err();
        assert_eq!((e.errno, e.buf.into_vec()), (Errno::EBADF, vec![5]));
        assert_eq!(asyncmsg_flush(coid, 0), Err(Errno::EBADF));
        assert_eq!(
            asyncmsg_flush(coid, ASYNCMSG_FLUSH_NONBLOCK),
            Err(Errno::EBADF)
        );
        asyncmsg_connect_detach(coid).unwrap();
    });
    // The three queued before the destroy come back, discarded.
    let calls = rec.wait(3);
    assert_eq!(
        Recorder::pairs(&calls),
        vec![
            (Errno::EBADF.0, 0),
            (Errno::EBADF.0, 1),
            (Errno::EBADF.0, 2)
        ]
    );
}

#[test]
fn a_channel_destroy_releases_a_blocked_flush_with_ebadf() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let (tx, rx) = mpsc::channel();
    let flushers: Vec<_> = [false, true]
        .into_iter()
        .map(|bounded| {
            let tx = tx.clone();
            send.spawn(move || {
                let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 8));
                put(coid, encode(0, 0), 0);
                tx.send(()).unwrap();
                let r = if bounded {
                    asyncmsg_flush_timeout(coid, LONG)
                } else {
                    asyncmsg_flush(coid, 0)
                };
                asyncmsg_connect_detach(coid).unwrap();
                r
            })
            .unwrap()
        })
        .collect();
    for _ in 0..2 {
        rx.recv_timeout(LONG).unwrap();
    }
    std::thread::sleep(SHORT);
    assert!(
        flushers.iter().all(|f| !f.is_finished()),
        "a flush returned early"
    );
    asyncmsg_channel_destroy(chid).unwrap();
    for f in flushers {
        assert_eq!(join(f), Err(Errno::EBADF));
    }
}

#[test]
fn a_channel_destroy_releases_a_blocked_get_with_esrch() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let (rpid, (tx, rx)) = (recv.pid(), mpsc::channel());
    let getter = recv
        .spawn(move || {
            tx.send(userlib::qnx::gettid().unwrap()).unwrap();
            get_within(chid, LONG).map(|b| b.len())
        })
        .unwrap();
    wait_receive_blocked(&k, rpid, rx.recv_timeout(LONG).unwrap(), chid);
    asyncmsg_channel_destroy(chid).unwrap();
    assert_eq!(join(getter), Err(Errno::ESRCH));
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::EBADF));
}

#[test]
fn the_receiver_process_exiting_releases_blocked_puts_with_ebadf() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let chid = run_in(&recv, || {
        asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap()
    });
    let rpid = recv.pid();
    let (tx, rx) = mpsc::channel();
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 2));
            put(coid, encode(0, 0), 0);
            tx.send(()).unwrap();
            let r = asyncmsg_put_timeout(coid, encode(0, 1), 1, None, LONG).map_err(|e| e.errno);
            asyncmsg_connect_detach(coid).unwrap();
            r
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    assert!(!producer.is_finished(), "the 2nd put did not block");
    drop(recv);
    assert_eq!(join(producer), Err(Errno::EBADF));
}

#[test]
fn the_sender_process_exiting_takes_its_queued_messages_with_it() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16));
        for i in 0..5 {
            put(coid, encode(0, i), i);
        }
    });
    drop(send);
    // The queue lived in the sender's memory: nothing is left to take.
    assert_nothing_more(chid);
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn the_sender_process_exiting_releases_its_own_thread_blocked_in_flush() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rpid = recv.pid();
    let (tx, rx) = mpsc::channel();
    let flusher = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &attr(0, Duration::ZERO, 8));
            put(coid, encode(0, 0), 0);
            tx.send(()).unwrap();
            asyncmsg_flush_timeout(coid, Duration::from_secs(3))
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    drop(send);
    let r = join(flusher);
    assert!(
        r.is_err() && r != Err(Errno::ETIMEDOUT),
        "released by the exit, not by its timeout: {r:?}"
    );
    asyncmsg_channel_destroy(chid).unwrap();
}

/// A recvbuf callback that counts allocations and keeps what it is given back.
#[derive(Clone, Default)]
struct Arenas {
    allocs: Arc<AtomicUsize>,
    asked: Arc<Mutex<Vec<(usize, usize)>>>,
    freed: Arc<Mutex<Vec<Vec<Vec<u8>>>>>,
    refuse: bool,
}

impl Arenas {
    fn callback(&self) -> RecvBufCallback {
        let me = self.clone();
        Arc::new(move |op| match op {
            RecvBufOp::Alloc { bufsize, num_bufs } => {
                me.allocs.fetch_add(1, Ordering::SeqCst);
                me.asked.lock().unwrap().push((bufsize, num_bufs));
                (!me.refuse).then(|| vec![0xEE; bufsize * num_bufs])
            }
            RecvBufOp::Free(arenas) => {
                me.freed.lock().unwrap().push(arenas);
                None
            }
        })
    }
}

#[test]
fn the_recvbuf_callback_is_asked_once_and_gets_its_arena_back_at_destroy() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let arenas = Arenas::default();
    let chid = asyncmsg_channel_create(0, 0o600, 32, 4, None, Some(arenas.callback())).unwrap();
    assert_eq!(
        arenas.allocs.load(Ordering::SeqCst),
        0,
        "not before the first get"
    );
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16))
    });
    let mut seqs = Vec::new();
    for round in 0..3u32 {
        run_in(&send, move || {
            for i in 0..6 {
                put(coid, encode(round, i), i);
            }
        });
        let (got, sizes) = take(chid, 6);
        assert_eq!(sizes, vec![4, 2]);
        seqs.extend(got.iter().map(|m| decode(&m.data)));
    }
    assert_eq!(
        seqs,
        (0..3)
            .flat_map(|r| (0..6).map(move |i| (r, i)))
            .collect::<Vec<_>>()
    );
    // A get that times out recycles the arena too.
    assert_eq!(get_within(chid, SHORT).err(), Some(Errno::ETIMEDOUT));
    assert_eq!(
        arenas.allocs.load(Ordering::SeqCst),
        1,
        "buffers are recycled"
    );
    assert_eq!(*arenas.asked.lock().unwrap(), vec![(32, 4)]);
    assert!(
        arenas.freed.lock().unwrap().is_empty(),
        "nothing freed before destroy"
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
    let freed = arenas.freed.lock().unwrap();
    assert_eq!(freed.len(), 1, "one Free call");
    assert_eq!(freed[0].len(), 1, "with the one arena");
    assert_eq!(freed[0][0].len(), 32 * 4);
}

#[test]
fn a_recvbuf_callback_that_gives_no_buffer_fails_asyncmsg_get_with_enomem() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let arenas = Arenas {
        refuse: true,
        ..Arenas::default()
    };
    let chid = asyncmsg_channel_create(
        _NTO_CHF_ASYNC_NONBLOCK,
        0o600,
        32,
        4,
        None,
        Some(arenas.callback()),
    )
    .unwrap();
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::ENOMEM));
    assert_eq!(asyncmsg_get(chid).err(), Some(Errno::ENOMEM));
    assert_eq!(
        arenas.allocs.load(Ordering::SeqCst),
        2,
        "asked again each time"
    );
    asyncmsg_channel_destroy(chid).unwrap();
    let freed = arenas.freed.lock().unwrap();
    assert_eq!(freed.len(), 1);
    assert!(freed[0].is_empty(), "nothing was allocated");
}

fn live(k: &Kernel) -> [u32; 6] {
    let u = k.pool_usage();
    [
        u.processes.live,
        u.threads.live,
        u.channels.live,
        u.connections.live,
        u.pulses.live,
        u.timers.live,
    ]
}

#[test]
fn tearing_everything_down_returns_every_pool_to_its_baseline() {
    let k = kernel();
    let baseline = live(&k);
    {
        let (recv, send) = (process(&k), process(&k));
        let _b = bind(&recv);
        let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
        let rpid = recv.pid();
        let rec = Recorder::default();
        let cb = rec.callback();
        let coids = run_in(&send, move || {
            let mut with_cb = attr(0, Duration::from_millis(1), 8);
            with_cb.call_back = Some(cb);
            let coids = [
                connect(rpid, chid, 0, &with_cb),
                connect(rpid, chid, _NTO_COF_NONBLOCK, &attr(2, Duration::ZERO, 8)),
            ];
            for i in 0..4 {
                for &c in &coids {
                    put(c, encode(0, i), i);
                }
            }
            coids
        });
        take(chid, 8);
        rec.wait(4);
        // Some left queued, to be discarded by the detach.
        run_in(&send, move || {
            put(coids[1], encode(0, 9), 9);
            for c in coids {
                asyncmsg_connect_detach(c).unwrap();
            }
        });
        asyncmsg_channel_destroy(chid).unwrap();
        // While the processes live, each keeps its library's channel, connection and wake
        // timer.
        let [procs, _, chans, conns, _, timers] = live(&k);
        assert_eq!(procs, baseline[0] + 2);
        assert_eq!(chans, baseline[2] + 2);
        assert_eq!(conns, baseline[3] + 2);
        assert_eq!(
            timers,
            baseline[5] + 2,
            "the trigger timer went with its connection"
        );
        wait_until("the library pulses to be handled", || {
            live(&k)[4] == baseline[4]
        });
    }
    wait_until("every pool to return to its baseline", || {
        live(&k) == baseline
    });
}

#[test]
fn process_exit_with_live_asyncmsg_objects_returns_every_pool_to_its_baseline() {
    let k = kernel();
    let baseline = live(&k);
    {
        let (recv, send) = (process(&k), process(&k));
        let chid = run_in(&recv, || {
            asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap()
        });
        let rpid = recv.pid();
        let rec = Recorder::default();
        let cb = rec.callback();
        run_in(&send, move || {
            let mut a = attr(3, Duration::from_millis(50), 8);
            a.call_back = Some(cb);
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..5 {
                put(coid, encode(0, i), i);
            }
        });
        // No detach, no destroy: the processes just exit.
    }
    wait_until("every pool to return to its baseline", || {
        live(&k) == baseline
    });
}

/// The library thread is kept busy in another connection's callback, so the receiver's "taken"
/// pulse for connection Y waits; meanwhile a put blocks on Y's full queue and Y is detached.
/// The detach releases the taken slots, which makes room: the blocked put must not then queue
/// its message on the detached connection, where it is never delivered nor called back.
#[test]
fn a_put_blocked_across_a_detach_never_loses_its_buffer() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();

    // Connection X: its callback holds the library thread until released.
    let (hold_tx, hold_rx) = mpsc::channel::<()>();
    let (in_cb_tx, in_cb_rx) = mpsc::channel::<()>();
    let hold_rx = Arc::new(Mutex::new(hold_rx));
    let blocker: AsyncCallback = Arc::new(move |_, _, _| {
        let _ = in_cb_tx.send(());
        let _ = hold_rx.lock().unwrap().recv_timeout(LONG);
    });
    let mut ax = attr(1, Duration::ZERO, 4);
    ax.call_back = Some(blocker);
    let rec = Recorder::default();
    let mut ay = attr(1, Duration::ZERO, 4);
    ay.call_back = Some(rec.callback());
    let (x, y) = run_in(&send, move || {
        let x = connect(rpid, chid, 0, &ax);
        let y = connect(rpid, chid, 0, &ay);
        put(x, encode(9, 0), 0);
        (x, y)
    });
    take(chid, 1);
    in_cb_rx
        .recv_timeout(LONG)
        .expect("the library thread runs X's callback");

    // Y: three messages fill its queue; the receiver takes them (their pulse waits behind the
    // busy library thread); a fourth put blocks.
    run_in(&send, move || {
        for i in 0..3 {
            put(y, encode(1, i), i);
        }
    });
    take(chid, 3);
    let (tx, rx) = mpsc::channel();
    let blocked = send
        .spawn(move || {
            tx.send(()).unwrap();
            asyncmsg_put_timeout(y, encode(1, 3), 3, None, LONG).map_err(|e| e.errno)
        })
        .unwrap();
    rx.recv_timeout(LONG).unwrap();
    std::thread::sleep(SHORT);
    run_in(&send, move || asyncmsg_connect_detach(y).unwrap());
    let r = join(blocked);
    hold_tx.send(()).unwrap();
    std::thread::sleep(SHORT);
    let calls = rec.wait(3);
    let mut pairs = Recorder::pairs(&calls);
    if r.is_ok() {
        // Accepted: then it must come back through its callback (discarded).
        assert!(
            pairs.contains(&(Errno::EBADF.0, 3)),
            "put returned Ok after the detach, but handle 3 never came back: {pairs:?}"
        );
    } else {
        assert_eq!(r, Err(Errno::EBADF));
    }
    pairs.retain(|p| p.1 != 3);
    assert_eq!(pairs, vec![(0, 0), (0, 1), (0, 2)]);
    run_in(&send, move || asyncmsg_connect_detach(x).unwrap());
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_batch_held_past_its_channels_destroy_returns_its_arena_to_the_recvbuf_callback() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let arenas = Arenas::default();
    let chid = asyncmsg_channel_create(0, 0o600, 32, 4, None, Some(arenas.callback())).unwrap();
    let rpid = recv.pid();
    let coid = run_in(&send, move || {
        connect(rpid, chid, 0, &attr(1, Duration::ZERO, 16))
    });
    run_in(&send, move || put(coid, encode(0, 0), 0));
    let batch = get_within(chid, LONG).unwrap();
    assert_eq!(batch.len(), 1);
    asyncmsg_channel_destroy(chid).unwrap();
    // Nothing cached at destroy: the only arena is in the batch still held.
    assert_eq!(arenas.freed.lock().unwrap().concat().len(), 0);
    drop(batch);
    let freed = arenas.freed.lock().unwrap().concat();
    assert_eq!(
        freed.len(),
        1,
        "the held batch's arena came back through Free"
    );
    assert_eq!(freed[0].len(), 32 * 4);
}
