//! A careless (or hostile) Rust user's view of the typed API: which handles may cross threads,
//! what a handle does in a thread of another process or kernel, after its process is gone, or
//! when a callback it runs panics. Every misuse ends in an errno (or, for a panic, in the
//! documented recovery), never in a hang, a panic inside the library or a call on another
//! process's object of the same number.

mod support;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::dispatch::*;
use userlib::thread_pool::*;
use userlib::{Channel, Connection, Errno, Notifier, Process, ReceiveId, Received, Timer};

fn send_sync<T: Send + Sync>() {}
fn send_only<T: Send>() {}

/// The handles a program shares between its threads are `Send + Sync` (a channel received on by
/// several threads, a connection sent on by several, an rcvid answered by another thread);
/// `ThreadCtx` is `Send` only (see the compile_fail doctest in `lib.rs`).
#[test]
fn public_handles_are_send_and_sync_and_thread_ctx_is_send() {
    send_sync::<Channel>();
    send_sync::<Connection>();
    send_sync::<ReceiveId>();
    send_sync::<Notifier>();
    send_sync::<Timer>();
    send_sync::<Process>();
    send_sync::<AsyncChannel>();
    send_sync::<AsyncConnection>();
    send_sync::<Dispatch>();
    send_sync::<ThreadPool<DispatchPool>>();
    send_sync::<userlib::Kernel>();
    send_only::<Context>();
    send_only::<userlib::ThreadCtx>();
    send_only::<AsyncBatch>();
}

fn async_attr() -> AsyncConnAttr {
    AsyncConnAttr {
        trigger_num_msg: 1,
        max_num_buffer: 8,
        ..AsyncConnAttr::default()
    }
}

/// Two processes, each with an asyncmsg channel and a connection to it: the same chid and coid
/// numbers in each. A's connection handle, moved to a thread of B, must not put on B's
/// connection of the same coid (nor A's channel handle get from B's channel).
#[test]
fn async_handles_used_by_a_thread_of_another_process_fail_instead_of_naming_its_objects() {
    let k = kernel();
    let a = process(&k);
    let b = process(&k);
    let make = |p: &Process| {
        join(
            p.spawn(|| {
                let ch = AsyncChannel::create(_NTO_CHF_ASYNC_NONBLOCK, 64, 8, None).unwrap();
                let co = AsyncConnection::attach(0, ch.chid(), &async_attr()).unwrap();
                (ch, co)
            })
            .unwrap(),
        )
    };
    let (a_ch, a_co) = make(&a);
    let (b_ch, b_co) = make(&b);
    assert_eq!((a_ch.chid(), a_co.coid()), (b_ch.chid(), b_co.coid()));
    let (a_ch, a_co) = (Arc::new(a_ch), Arc::new(a_co));
    let (ach, aco) = (a_ch.clone(), a_co.clone());
    let r = join(
        b.spawn(move || {
            let put = aco.put(vec![7; 4], 1, None).map_err(|e| e.errno);
            let get = ach.get().map(|batch| batch.len());
            let flush = aco.flush_timeout(LONG);
            (put, get, flush)
        })
        .unwrap(),
    );
    assert_eq!(r, (Err(Errno::EBADF), Err(Errno::ESRCH), Err(Errno::EBADF)));
    // Nothing arrived on B's channel through A's handle.
    let on_b = join(
        b.spawn(move || b_ch.get().map(|batch| batch.len()))
            .unwrap(),
    );
    assert_ne!(on_b, Ok(1), "A's handle put on B's connection");
    drop(b_co);
    // A's handles still work from A.
    join(
        a.spawn(move || {
            // (trigger_num_msg 1: the put delivers.)
            a_co.put(vec![1, 2], 2, None).unwrap();
            let batch = a_ch.get().unwrap();
            assert_eq!(
                batch.iter().map(|m| m.data.to_vec()).collect::<Vec<_>>(),
                [vec![1, 2]]
            );
        })
        .unwrap(),
    );
}

/// A dispatch handle of process A used by a thread of process B: its calls fail with ESRCH, and
/// `dispatch_destroy` there leaves B's channel of the same chid alone.
#[test]
fn dispatch_handle_used_by_a_thread_of_another_process_fails_and_destroys_nothing_of_it() {
    let k = kernel();
    let a = process(&k);
    let b = process(&k);
    let dpp = join(
        a.spawn(|| {
            let dpp = dispatch_create().unwrap();
            message_attach(&dpp, None, 0x100, 0x1ff, |ctp: &mut Context, _, _| {
                ctp.reply(0, &[]).map_or(-1, |()| 0)
            })
            .unwrap();
            dpp
        })
        .unwrap(),
    );
    let b_chan = join(b.spawn(|| Channel::create(0).unwrap()).unwrap());
    assert_eq!(dpp.chid(), b_chan.chid());
    let d = dpp.clone();
    let r = join(
        b.spawn(move || {
            let mut ctp = dispatch_context_alloc(&d).unwrap();
            dispatch_timeout(&d, Some(SHORT)).unwrap();
            let block = dispatch_block(&mut ctp);
            let connect = message_connect(&d, MSG_FLAG_SIDE_CHANNEL);
            let destroy = dispatch_destroy(&d);
            (block, connect.err(), destroy)
        })
        .unwrap(),
    );
    assert_eq!(
        r,
        (Err(Errno::ESRCH), Some(Errno::ESRCH), Err(Errno::ESRCH))
    );
    // B's channel is still there: a pulse on it arrives.
    let got = join(
        b.spawn(move || {
            let me = Connection::attach(0, b_chan.chid())?;
            me.send_pulse(-1, 3, 0)?;
            match b_chan.receive_timeout(&mut [0u8; 64], LONG)? {
                Received::Pulse(p) => Ok(p.code),
                Received::Message { .. } => Err(Errno::EINVAL),
            }
        })
        .unwrap(),
    );
    assert_eq!(got, Ok(3));
    // And A's handle still serves from A.
    join(
        a.spawn(move || {
            let coid = message_connect(&dpp, MSG_FLAG_SIDE_CHANNEL).unwrap();
            let chid = dpp.chid();
            let mut ctp = dispatch_context_alloc(&dpp).unwrap();
            let client = userlib::spawn(move || {
                userlib::qnx::timer_timeout(
                    CLOCK_MONOTONIC,
                    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                    Some(LONG_NS),
                )?;
                userlib::qnx::msg_send(coid, &0x105u16.to_ne_bytes(), &mut [])
            })
            .unwrap();
            dispatch_timeout(&dpp, Some(LONG)).unwrap();
            dispatch_block(&mut ctp).unwrap();
            assert_eq!(dispatch_handler(&mut ctp), 0);
            assert_eq!(join(client), Ok(0));
            let _ = chid;
            dispatch_destroy(&dpp).unwrap();
        })
        .unwrap(),
    );
}

/// A `ReceiveId` moved to a thread of another process cannot answer there (ESRCH), and the
/// failed answer does not count as one: dropped, it answers ENOSYS, so the client is released.
#[test]
fn receive_id_answered_from_another_process_fails_and_still_releases_its_client() {
    let k = kernel();
    let server = process(&k);
    let other = process(&k);
    let _b = bind(&server);
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = server
        .spawn(move || {
            Connection::attach(0, chid)?.send_timeout(b"hi", &mut [0u8; 8], Duration::from_secs(5))
        })
        .unwrap();
    let Received::Message { rcvid, .. } = chan.receive_timeout(&mut [0u8; 16], LONG).unwrap()
    else {
        panic!("expected a message")
    };
    let replied = join(other.spawn(move || rcvid.reply(0, b"no")).unwrap());
    assert_eq!(replied, Err(Errno::ESRCH));
    assert_eq!(join(client), Err(Errno::ENOSYS));
}

/// The same for `error` and `replyv`.
#[test]
fn receive_id_error_and_replyv_from_another_process_fail_and_still_release_their_clients() {
    let k = kernel();
    let server = process(&k);
    let other = process(&k);
    let _b = bind(&server);
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    for how in 0..2 {
        let client = server
            .spawn(move || {
                Connection::attach(0, chid)?.send_timeout(
                    b"hi",
                    &mut [0u8; 8],
                    Duration::from_secs(5),
                )
            })
            .unwrap();
        let Received::Message { rcvid, .. } = chan.receive_timeout(&mut [0u8; 16], LONG).unwrap()
        else {
            panic!("expected a message")
        };
        let answered = join(
            other
                .spawn(move || match how {
                    0 => rcvid.error(Errno::EIO),
                    _ => rcvid.replyv(0, &[b"a", b"b"]),
                })
                .unwrap(),
        );
        assert_eq!(answered, Err(Errno::ESRCH));
        assert_eq!(join(client), Err(Errno::ENOSYS));
    }
}

/// A pool of 1..4 threads over a dispatch handle whose pulse handler panics once: the panicking
/// thread is counted out of the pool, the pool goes on serving messages, and
/// `thread_pool_destroy` returns (it waited for ever for the dead thread).
#[test]
fn a_pool_thread_whose_handler_panics_is_counted_out_and_destroy_returns() {
    let k = kernel();
    let server = process(&k);
    let (dpp, tpp) = join(
        server
            .spawn(|| {
                let dpp = dispatch_create().unwrap();
                message_attach_shared(&dpp, None, 0x100, 0x1ff, |ctp: &mut Context, code, _| {
                    ctp.reply(i64::from(code), &[]).map_or(-1, |()| 0)
                })
                .unwrap();
                pulse_attach_shared(&dpp, 0, 9, |_: &mut Context, _, _| {
                    panic!("a pool handler panics (expected by the test)")
                })
                .unwrap();
                let mut attr = ThreadPoolAttr::new(DispatchPool::new(&dpp));
                (attr.lo_water, attr.hi_water, attr.increment, attr.maximum) = (1, 2, 1, 4);
                let tpp = thread_pool_create(attr, 0).unwrap();
                thread_pool_start(&tpp).unwrap();
                (dpp, tpp)
            })
            .unwrap(),
    );
    let chid = dpp.chid();
    let served = join(
        server
            .spawn(move || -> Result<i64, Errno> {
                let conn = Connection::attach(0, chid)?;
                conn.send_pulse(-1, 9, 0)?;
                conn.send_timeout(&0x123u16.to_ne_bytes(), &mut [], LONG)
            })
            .unwrap(),
    );
    assert_eq!(served, Ok(0x123));
    let pool = tpp.clone();
    let destroyed = join(std::thread::spawn(move || thread_pool_destroy(&pool)));
    assert_eq!(destroyed, Ok(()));
    assert_eq!(tpp.created(), 0);
    join(server.spawn(move || dispatch_destroy(&dpp)).unwrap()).unwrap();
}

/// With `POOL_FLAG_USE_SELF` the caller is a pool thread: a panic in its handler reaches the
/// caller of `thread_pool_start`; the pool counts it out (and makes a thread in its place, its
/// `lo_water` being 1) and can still be destroyed.
#[test]
fn a_use_self_pool_whose_handler_panics_unwinds_to_the_starter_and_can_be_destroyed() {
    let k = kernel();
    let server = process(&k);
    let (tx, rx) = mpsc::channel();
    let h = server
        .spawn(move || {
            let dpp = dispatch_create().unwrap();
            pulse_attach_shared(&dpp, 0, 9, |_: &mut Context, _, _| {
                panic!("a pool handler panics (expected by the test)")
            })
            .unwrap();
            let mut attr = ThreadPoolAttr::new(DispatchPool::new(&dpp));
            (attr.lo_water, attr.hi_water, attr.increment, attr.maximum) = (1, 1, 1, 1);
            let tpp = thread_pool_create(attr, POOL_FLAG_USE_SELF).unwrap();
            tx.send((dpp.clone(), tpp.clone())).unwrap();
            let started =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread_pool_start(&tpp)));
            started.is_err()
        })
        .unwrap();
    let (dpp, tpp) = rx.recv_timeout(DEADLINE).unwrap();
    let chid = dpp.chid();
    join(
        server
            .spawn(move || Connection::attach(0, chid).unwrap().send_pulse(-1, 9, 0))
            .unwrap(),
    )
    .unwrap();
    assert!(join(h), "the panic reached thread_pool_start's caller");
    wait_until("a thread in place of the one that panicked", || {
        tpp.waiting() == 1
    });
    let pool = tpp.clone();
    assert_eq!(
        join(std::thread::spawn(move || thread_pool_destroy(&pool))),
        Ok(())
    );
    assert_eq!(tpp.created(), 0);
    join(server.spawn(move || dispatch_destroy(&dpp)).unwrap()).unwrap();
}

/// A `message_attach` handler (an `FnMut` behind a lock) that panicked once still runs for the
/// next message: the lock it poisoned does not turn every later dispatch into a panic.
#[test]
fn a_dispatch_handler_that_panicked_runs_again_for_the_next_pulse() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let dpp = dispatch_create().unwrap();
    let mut calls = 0;
    pulse_attach(&dpp, 0, 4, move |_: &mut Context, _, _| {
        calls += 1;
        if calls == 1 {
            panic!("first call panics (expected by the test)");
        }
        calls
    })
    .unwrap();
    let coid = message_connect(&dpp, MSG_FLAG_SIDE_CHANNEL).unwrap();
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    dispatch_timeout(&dpp, Some(LONG)).unwrap();
    for _ in 0..2 {
        userlib::qnx::msg_send_pulse(coid, -1, 4, 0).unwrap();
    }
    dispatch_block(&mut ctp).unwrap();
    let first =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch_handler(&mut ctp)));
    assert!(first.is_err());
    dispatch_block(&mut ctp).unwrap();
    assert_eq!(dispatch_handler(&mut ctp), 2);
    dispatch_destroy(&dpp).unwrap();
}

/// Handles whose process is gone: every call is ESRCH (from a thread of that process, and from
/// an unbound thread, which cannot join a dead process), and dropping them afterwards is quiet.
#[test]
fn handles_outliving_their_process_fail_with_esrch_and_drop_quietly() {
    let k = kernel();
    let p = process(&k);
    let chan = Channel::create_in(&p, 0).unwrap();
    let conn = Connection::attach_in(&p, 0, chan.chid()).unwrap();
    let timer = join(
        p.spawn(|| Timer::monotonic(&userlib::SigEvent::unblock()).unwrap())
            .unwrap(),
    );
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (chan, conn, timer) = (Arc::new(chan), Arc::new(conn), Arc::new(timer));
    let (c2, k2, t2) = (chan.clone(), conn.clone(), timer.clone());
    // A thread of the process, which outlives it.
    let member = p
        .spawn(move || {
            go_rx.recv().unwrap();
            (
                c2.receive_timeout(&mut [0u8; 64], SHORT).err(),
                k2.send_pulse(-1, 1, 0).err(),
                t2.info().err(),
            )
        })
        .unwrap();
    drop(p);
    go_tx.send(()).unwrap();
    let esrch = Some(Errno::ESRCH);
    assert_eq!(join(member), (esrch, esrch, esrch));
    let (c3, k3, t3) = (chan.clone(), conn.clone(), timer.clone());
    let unbound = std::thread::spawn(move || {
        (
            c3.receive_timeout(&mut [0u8; 64], SHORT).err(),
            k3.send_pulse(-1, 1, 0).err(),
            t3.start(SHORT, Duration::ZERO).err(),
        )
    });
    assert_eq!(join(unbound), (esrch, esrch, esrch));
    let before = k.pool_usage();
    drop((chan, conn, timer));
    assert_eq!(k.pool_usage(), before);
}

/// Two kernels in one program: a connection or channel of kernel A used by a thread of kernel B
/// fails (EBADF, ESRCH) and touches nothing of B's, though B has the same coid and chid.
#[test]
fn handles_of_one_kernel_used_on_a_thread_of_another_kernel_fail() {
    let (ka, kb) = (kernel(), kernel());
    let (pa, pb) = (process(&ka), process(&kb));
    // (Made in threads of each: `create_in` from this thread would bind it to the process.)
    let make = |p: &Process| {
        join(
            p.spawn(|| {
                let chan = Channel::create(0).unwrap();
                let conn = Connection::attach(0, chan.chid()).unwrap();
                (chan, conn)
            })
            .unwrap(),
        )
    };
    let (a_chan, a_conn) = make(&pa);
    let (b_chan, b_conn) = make(&pb);
    assert_eq!(
        (a_chan.chid(), a_conn.coid()),
        (b_chan.chid(), b_conn.coid())
    );
    let (a_chan, a_conn) = (Arc::new(a_chan), Arc::new(a_conn));
    let (c, k) = (a_chan.clone(), a_conn.clone());
    let r = join(
        pb.spawn(move || {
            (
                k.send_pulse(-1, 7, 0).err(),
                c.receive_timeout(&mut [0u8; 64], SHORT).err(),
            )
        })
        .unwrap(),
    );
    assert_eq!(r, (Some(Errno::EBADF), Some(Errno::ESRCH)));
    // Nothing went to B's channel.
    let on_b = join(
        pb.spawn(move || b_chan.receive_timeout(&mut [0u8; 64], SHORT).err())
            .unwrap(),
    );
    assert_eq!(on_b, Some(Errno::ETIMEDOUT));
    drop(b_conn);
    // A's handles work in A.
    let on_a = join(
        pa.spawn(move || {
            a_conn.send_pulse(-1, 7, 0)?;
            match a_chan.receive_timeout(&mut [0u8; 64], LONG)? {
                Received::Pulse(p) => Ok(p.code),
                Received::Message { .. } => Err(Errno::EINVAL),
            }
        })
        .unwrap(),
    );
    assert_eq!(on_a, Ok(7));
}

/// Timeouts and timer times at the ends of `Duration`: `Duration::MAX` is "for ever" (no panic,
/// no overflow into the past), `Duration::ZERO` times out at once.
#[test]
fn durations_at_their_extremes_neither_panic_nor_wrap() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    assert_eq!(
        chan.receive_timeout(&mut [0u8; 64], Duration::ZERO).err(),
        Some(Errno::ETIMEDOUT)
    );
    conn.send_pulse(-1, 2, 0).unwrap();
    let Received::Pulse(got) = chan.receive_timeout(&mut [0u8; 64], Duration::MAX).unwrap() else {
        panic!("expected the pulse")
    };
    assert_eq!(got.code, 2);
    let timer = Timer::monotonic(&conn.pulse_event(-1, 3, 0)).unwrap();
    timer.start(Duration::MAX, Duration::MAX).unwrap();
    assert_eq!(
        chan.receive_timeout(&mut [0u8; 64], SHORT).err(),
        Some(Errno::ETIMEDOUT),
        "a timer armed for Duration::MAX fired"
    );
    assert_eq!(timer.info().unwrap().fired, 0);
    timer.stop().unwrap();
}

/// Numbers out of range in the typed calls are errnos, never panics: pulse priorities and codes
/// outside QNX's ranges are EINVAL, a connection to a chid or pid that does not exist ESRCH,
/// `MsgRead`/`MsgWrite` at `usize::MAX` move nothing.
#[test]
fn out_of_range_numbers_in_typed_calls_are_errnos() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    for (prio, code) in [
        (0, 1),
        (256, 1),
        (i16::MIN, 1),
        (i16::MAX, 1),
        (-1, -1),
        (-1, i8::MIN),
    ] {
        assert_eq!(
            conn.send_pulse(prio, code, 0),
            Err(Errno::EINVAL),
            "priority {prio} code {code}"
        );
    }
    assert_eq!(
        Connection::attach(0, i32::MAX).err(),
        Some(Errno::ESRCH),
        "chid i32::MAX"
    );
    assert_eq!(
        Connection::attach(i32::MAX, 1).err(),
        Some(Errno::ESRCH),
        "pid i32::MAX"
    );
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            let mut reply = [0u8; 4];
            Connection::attach(0, chid)?
                .send_timeout(b"abc", &mut reply, LONG)
                .map(|st| (st, reply))
        })
        .unwrap();
    let Received::Message { rcvid, .. } = chan.receive_timeout(&mut [0u8; 8], LONG).unwrap() else {
        panic!("expected a message")
    };
    assert_eq!(rcvid.read(&mut [0u8; 8], usize::MAX), Ok(0));
    assert_eq!(rcvid.write(b"zz", usize::MAX), Ok(0));
    rcvid.reply(1, b"ok").unwrap();
    assert_eq!(join(client), Ok((1, *b"ok\0\0")));
}

/// A `ReceiveId` leaked with `mem::forget` leaves its client REPLY-blocked only while the
/// server's process lives: the process's end releases it with ESRCH.
#[test]
fn a_forgotten_receive_id_holds_its_client_only_until_the_server_process_ends() {
    let k = kernel();
    let server = process(&k);
    let client_p = process(&k);
    let chan = Channel::create_in(&server, 0).unwrap();
    let chid = chan.chid();
    let spid = server.pid();
    let client = client_p
        .spawn(move || Connection::attach(spid, chid)?.send(b"x", &mut [0u8; 4]))
        .unwrap();
    let chan = Arc::new(chan);
    let c2 = chan.clone();
    join(
        server
            .spawn(move || {
                let Received::Message { rcvid, .. } =
                    c2.receive_timeout(&mut [0u8; 8], LONG).unwrap()
                else {
                    panic!("expected a message")
                };
                std::mem::forget(rcvid);
            })
            .unwrap(),
    );
    // (The server received the message: the client is REPLY-blocked now.)
    drop(chan);
    drop(server);
    assert_eq!(join(client), Err(Errno::ESRCH));
}

/// A thread that panics while it holds a channel: the channel's `Drop`, run while the thread
/// unwinds, destroys it (a kernel call during unwinding), and the client SEND-blocked on it is
/// released with ESRCH.
#[test]
fn a_channel_dropped_while_its_thread_unwinds_releases_its_blocked_client() {
    let k = kernel();
    let p = process(&k);
    let (tx, rx) = mpsc::channel();
    let server = p
        .spawn(move || {
            let chan = Channel::create(0).unwrap();
            tx.send(chan.chid()).unwrap();
            // (Give the client time to queue; the test holds either way.)
            std::thread::sleep(SHORT);
            panic!("the server panics holding its channel (expected by the test)");
        })
        .unwrap();
    let chid = rx.recv_timeout(DEADLINE).unwrap();
    let client = p
        .spawn(move || Connection::attach(0, chid)?.send_timeout(b"x", &mut [], LONG))
        .unwrap();
    assert!(server.join().is_err());
    let r = join(client);
    assert!(
        r == Err(Errno::ESRCH) || r == Err(Errno::EBADF),
        "{r:?}: ESRCH if it queued before the destroy, EBADF if it came after"
    );
    assert_eq!(k.pool_usage().channels.live, 0);
}

thread_local! {
    static KEPT: std::cell::RefCell<Option<Connection>> = const { std::cell::RefCell::new(None) };
}

/// A connection kept in a thread-local is dropped while the thread's thread-locals are
/// destroyed (the binding's may be gone already): it is still detached, without a panic.
#[test]
fn a_connection_in_a_thread_local_is_detached_when_its_thread_ends() {
    let k = kernel();
    let p = process(&k);
    let chan = Channel::create_in(&p, 0).unwrap();
    let chid = chan.chid();
    let before = k.pool_usage().connections.live;
    join(
        p.spawn(move || {
            KEPT.with(|c| *c.borrow_mut() = Some(Connection::attach(0, chid).unwrap()));
        })
        .unwrap(),
    );
    assert_eq!(k.pool_usage().connections.live, before);
}
