//! Smoke tests: one quick pass through each part of the kernel (a round trip, timeouts, timer
//! and kernel pulses, asyncmsg batches), made with the kernel's calls directly.

mod support;

use std::thread;
use support::*;

#[test]
fn one_round_trip_between_two_threads() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let k2 = k.clone();
    let h = thread::spawn(move || {
        let c = k2.thread_attach(p, 12).unwrap();
        let coid = c.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        let mut r = [0u8; 8];
        let st = c.msg_send(coid, b"hello", &mut r).unwrap();
        (st, r)
    });
    let mut buf = [0u8; 16];
    let mut info = MsgInfo::default();
    let rcvid = server.msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
    assert!(rcvid > 0);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(info.msglen, 5);
    assert_eq!(server.priority().unwrap().1, 12);
    server.msg_reply(rcvid, 42, b"world").unwrap();
    let (st, r) = h.join().unwrap();
    assert_eq!(st, 42);
    assert_eq!(&r[..5], b"world");
    assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
}

/// The region's header says what it is: the magic a process mapping it checks, its layout
/// version, its size (the whole kernel state, in bytes) and the capacities it was made with.
#[test]
fn the_region_header_names_the_kernel_and_its_capacities() {
    let cfg = Config::small();
    let k = Kernel::new(cfg).unwrap();
    let info = k.region_info();
    assert_eq!(info.magic.to_le_bytes(), *b"QNXSIMK\0");
    assert!(info.version >= 1);
    assert_eq!(info.config, cfg);
    assert_eq!(k.config(), cfg);
    let big = Kernel::new(Config::default()).unwrap().region_info();
    assert!(
        big.size > info.size && info.size > 0,
        "more capacity, more region: {} vs {}",
        big.size,
        info.size
    );
}

#[test]
fn timeout_poll_and_relative() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let s = k.thread_attach(p, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    s.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    let mut b = [0u8; 32];
    assert_eq!(s.msg_receive(chid, &mut b, None), Err(Errno::ETIMEDOUT));
    s.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(20_000_000))
        .unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(s.msg_receive(chid, &mut b, None), Err(Errno::ETIMEDOUT));
    assert!(t0.elapsed().as_millis() >= 19);
}

#[test]
fn periodic_timer_pulse_disconnect_and_thread_death_pulses_arrive() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let s = k.thread_attach(p, 10).unwrap();
    let chid = s
        .channel_create(_NTO_CHF_DISCONNECT | _NTO_CHF_THREAD_DEATH)
        .unwrap();
    let coid = s.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let ev = SigEvent::pulse(coid, 20, 7, 99);
    let tid = s.timer_create(1, Some(&ev)).unwrap();
    s.timer_settime(tid, 0, 5_000_000, 5_000_000).unwrap();
    let mut b = [0u8; 64];
    for _ in 0..3 {
        s.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG))
            .unwrap();
        assert_eq!(s.msg_receive(chid, &mut b, None), Ok(0));
        let pl = Pulse::from_bytes(&b).unwrap();
        assert_eq!((pl.code, pl.value_int()), (7, 99));
    }
    assert!(s.timer_info(tid).unwrap().fired >= 3);
    s.timer_destroy(tid).unwrap();
    // Another thread of the process exits: THREADDEATH with its tid.
    let k2 = k.clone();
    let dead_tid = std::thread::spawn(move || k2.thread_attach(p, 10).unwrap().tid())
        .join()
        .unwrap();
    // Drain any timer pulse that was already queued.
    loop {
        s.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG))
            .unwrap();
        assert_eq!(s.msg_receive(chid, &mut b, None), Ok(0));
        let pl = Pulse::from_bytes(&b).unwrap();
        if pl.code == _PULSE_CODE_THREADDEATH {
            assert_eq!(pl.value_int(), dead_tid);
            break;
        }
    }
    // The last link goes: DISCONNECT with the scoid, which stays until we detach it.
    let before = k.pool_usage().connections.live;
    s.connect_detach(coid).unwrap();
    s.timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG))
        .unwrap();
    assert_eq!(s.msg_receive(chid, &mut b, None), Ok(0));
    let pl = Pulse::from_bytes(&b).unwrap();
    assert_eq!(pl.code, _PULSE_CODE_DISCONNECT);
    assert_eq!(k.pool_usage().connections.live, before);
    s.connect_detach(pl.scoid).unwrap();
    assert_eq!(k.pool_usage().connections.live, before - 1);
}

/// A kernel, a process, a thread of it, and an `_NTO_CHF_ASYNC_NONBLOCK` asyncmsg channel of
/// that thread's whose receives take `num` buffers of `bufsz` bytes.
fn async_fixture(bufsz: usize, num: u32) -> (Kernel, Pid, ThreadCtx, i32) {
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let s = k.thread_attach(p, 10).unwrap();
    let chid = s
        .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, bufsz, num, None)
        .unwrap();
    (k, p, s, chid)
}

#[test]
fn asyncmsg_batch_moves_with_one_trigger() {
    let (k, p, s, chid) = async_fixture(64, 16);
    let q = Box::new(AsyncQueue::new(32));
    // SAFETY: `q` and `msgs` outlive the connection (detached below).
    let coid = unsafe { s.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }.unwrap();
    assert_eq!(
        s.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0),
        Err(Errno::EINVAL)
    );
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 8 + i as usize]).collect();
    for m in &msgs {
        // SAFETY: one producer; `m` lives until the end of the test.
        unsafe {
            q.push(MsgDesc {
                iov: Iov::from_slice(m),
                parts: 0,
            })
        }
        .unwrap();
    }
    let before = k.process_counters(p.pid).unwrap().kernel_entries;
    let mut arena = vec![0u8; 64 * 16];
    let mut hdrs = vec![AsyncGetHeader::default(); 16];
    assert_eq!(
        s.msg_receive_async(chid, &mut arena, &mut hdrs),
        Err(Errno::EAGAIN)
    );
    assert_eq!(s.msg_send_async(coid), Ok(10));
    assert_eq!(s.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(10));
    for (i, h) in hdrs[..10].iter().enumerate() {
        assert_eq!(h.len as usize, 8 + i);
        assert_eq!(
            &arena[h.offset as usize..h.offset as usize + h.len as usize],
            &msgs[i][..]
        );
    }
    assert_eq!(
        k.process_counters(p.pid).unwrap().kernel_entries - before,
        3
    );
    assert_eq!(q.pending(), 0);
    s.connect_detach(coid).unwrap();
}

#[test]
fn a_trigger_by_queue_refuses_a_coid_reused_by_another_connection() {
    let (_k, _p, s, chid) = async_fixture(64, 16);
    let (qa, qb) = (Box::new(AsyncQueue::new(8)), Box::new(AsyncQueue::new(8)));
    // SAFETY: `qa` outlives its connection, detached at once.
    let coid =
        unsafe { s.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &qa, -1) }.unwrap();
    s.connect_detach(coid).unwrap();
    // SAFETY: `qb` and `m` outlive the connection (detached below).
    let reused =
        unsafe { s.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &qb, -1) }.unwrap();
    assert_eq!(reused, coid, "the freed coid is handed out again");
    let m = vec![7u8; 8];
    // SAFETY: one producer; `m` lives until the end of the test.
    unsafe {
        qb.push(MsgDesc {
            iov: Iov::from_slice(&m),
            parts: 0,
        })
    }
    .unwrap();
    // A trigger meant for the detached connection must not send the new one's message.
    assert_eq!(s.msg_send_async_on(coid, &qa), Err(Errno::EBADF));
    let mut arena = vec![0u8; 64 * 16];
    let mut hdrs = vec![AsyncGetHeader::default(); 16];
    assert_eq!(
        s.msg_receive_async(chid, &mut arena, &mut hdrs),
        Err(Errno::EAGAIN)
    );
    assert_eq!(s.msg_send_async_on(coid, &qb), Ok(1));
    assert_eq!(s.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(1));
    s.connect_detach(coid).unwrap();
}

#[test]
fn a_length_too_long_for_a_slot_fails_emsgsize_and_the_buffer_limit_keeps_it_so() {
    let (_k, _p, s, chid) = async_fixture(64, 4);
    // The largest buffer a channel may have is the longest length a slot stores exactly.
    assert_eq!(
        s.async_channel_create(
            _NTO_CHF_ASYNC_NONBLOCK,
            MAX_STORED_LEN as usize + 1,
            1,
            None
        ),
        Err(Errno::EINVAL)
    );
    let big = s
        .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, MAX_STORED_LEN as usize, 1, None)
        .unwrap();
    s.channel_destroy(big).unwrap();
    let q = Box::new(AsyncQueue::new(8));
    // SAFETY: `q` and `small` outlive the connection (detached below); the 8 GiB message is
    // never read: it is longer than the channel's buffers, so the kernel fails it uncopied.
    let coid = unsafe { s.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }.unwrap();
    let small = vec![5u8; 4];
    for iov in [
        Iov {
            base: small.as_ptr() as u64,
            len: 1 << 33,
        },
        Iov::from_slice(&small),
    ] {
        // SAFETY: as above.
        unsafe { q.push(MsgDesc { iov, parts: 0 }) }.unwrap();
    }
    assert_eq!(s.msg_send_async(coid), Ok(2));
    let mut arena = vec![0u8; 64 * 4];
    let mut hdrs = vec![AsyncGetHeader::default(); 4];
    assert_eq!(s.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(2));
    assert_eq!((hdrs[0].err, hdrs[0].len), (Errno::EMSGSIZE.0, 0));
    assert_eq!(
        hdrs[0].info.srcmsglen, -1,
        "the clipped length, as documented"
    );
    assert_eq!((hdrs[1].err, hdrs[1].len), (0, 4));
    assert_eq!(&arena[hdrs[1].offset as usize..][..4], &small[..]);
    assert_eq!((q.error_of(0), q.error_of(1)), (Errno::EMSGSIZE.0, 0));
    s.connect_detach(coid).unwrap();
}
