//! Bad input: unknown and stale ids, double replies, short pulse buffers, exhausted pools,
//! overflowing and faulting iovs, out-of-range priorities (QNX: the errors each call's reference page lists).

mod support;

use std::thread;
use std::time::Duration;
use support::*;

/// One pulse round trip on `coid`/`chid`: the kernel still works.
fn still_works(t: &ThreadCtx, coid: i32, chid: i32) {
    t.msg_send_pulse(coid, 10, 1, 0x5eed).unwrap();
    assert_eq!(receive_pulse(t, chid).value_int(), 0x5eed);
}

// ------------------------------------------------------------------ unknown and stale ids

#[test]
fn send_on_an_unknown_or_detached_coid_is_ebadf() {
    let k = kernel();
    let One { t, coid, .. } = one_on(&k);
    let mut r = [0u8; 4];
    for bad in [
        -1,
        0,
        1,
        255,
        256,
        0x4000_0000,
        0x4000_0007,
        0x7fff_ffff,
        i32::MIN,
    ] {
        assert_eq!(
            send(&t, bad, b"x", &mut r),
            Err(Errno::EBADF),
            "coid {bad:#x}"
        );
    }
    t.connect_detach(coid).unwrap();
    assert_eq!(send(&t, coid, b"x", &mut r), Err(Errno::EBADF));
    assert_eq!(t.msg_send_pulse(coid, 10, 1, 0), Err(Errno::EBADF));
    assert_eq!(t.connect_detach(coid), Err(Errno::EINVAL));
    assert_eq!(k.process_counters(t.pid()).unwrap().msgs_sent, 0);
}

#[test]
fn receive_on_an_unknown_or_destroyed_chid_is_esrch_and_destroy_is_einval() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    let mut buf = [0u8; 32];
    for bad in [-1, 0, chid + 1, 1000] {
        assert_eq!(receive(&t, bad, &mut buf, None), Err(Errno::ESRCH));
        assert_eq!(t.channel_destroy(bad), Err(Errno::EINVAL));
    }
    t.channel_destroy(chid).unwrap();
    assert_eq!(receive(&t, chid, &mut buf, None), Err(Errno::ESRCH));
    assert_eq!(t.channel_destroy(chid), Err(Errno::EINVAL));
    assert_eq!(t.msg_send_pulse(coid, 10, 1, 0), Err(Errno::EBADF));
}

#[test]
fn stale_rcvid_is_esrch() {
    let k = kernel();
    let One {
        p,
        t: server,
        chid,
        coid,
        ..
    } = one_on(&k);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 0];
            (send(t, coid, b"1", &mut r), send(t, coid, b"2", &mut r))
        });
        let mut buf = [0u8; 4];
        let first = receive(&server, chid, &mut buf, None).unwrap();
        server.msg_reply(first, 1, b"").unwrap();
        // The same client thread sends again: its new rcvid is not the old one, and the old one
        // names nothing any more (generation-checked; see docs/deviations.md).
        let second = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(&buf[..1], b"2");
        assert_ne!(first, second);
        assert_eq!(server.msg_reply(first, 9, b""), Err(Errno::ESRCH));
        assert_eq!(server.msg_error(first, Errno::EIO), Err(Errno::ESRCH));
        assert_eq!(server.msg_read(first, &mut buf, 0), Err(Errno::ESRCH));
        assert_eq!(server.msg_write(first, b"x", 0), Err(Errno::ESRCH));
        assert_eq!(server.msg_info(first), Err(Errno::ESRCH));
        server.msg_reply(second, 2, b"").unwrap();
        assert_eq!(h.join(), (Ok(1), Ok(2)));
    });
}

#[test]
fn garbage_rcvids_are_esrch() {
    let k = kernel();
    let One { t, .. } = one_on(&k);
    for rcvid in [
        -1,
        1,
        0x7fff,
        0x8000,
        0x8001,
        0x7fff_ffff,
        i32::MIN as RcvId,
        i64::MAX,
        i64::MIN,
    ] {
        assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH), "{rcvid:#x}");
        assert_eq!(t.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
    }
}

#[test]
fn replying_twice_is_esrch() {
    let k = kernel();
    let One {
        p,
        t: server,
        chid,
        coid,
        ..
    } = one_on(&k);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 5];
            let st = send(t, coid, b"once", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(server.msg_reply(rcvid, 1, b"first"), Ok(()));
        assert_eq!(server.msg_reply(rcvid, 2, b"again"), Err(Errno::ESRCH));
        assert_eq!(server.msg_error(rcvid, Errno::EINVAL), Err(Errno::ESRCH));
        assert_eq!(h.join(), (Ok(1), *b"first"));
    });
    assert_eq!(k.process_counters(p.pid).unwrap().replies, 1);
}

#[test]
fn replying_to_a_pulse_rcvid_is_esrch() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    t.msg_send_pulse(coid, 10, 1, 0).unwrap();
    let mut buf = [0u8; 32];
    let rcvid = receive(&t, chid, &mut buf, None).unwrap();
    assert_eq!(rcvid, 0);
    assert_eq!(t.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    assert_eq!(t.msg_error(rcvid, Errno::EOK), Err(Errno::ESRCH));
    assert_eq!(t.msg_read(rcvid, &mut buf, 0), Err(Errno::ESRCH));
    assert_eq!(t.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
    assert_eq!(t.msg_info(rcvid), Err(Errno::ESRCH));
}

// ------------------------------------------------------------------ short pulse buffers

#[test]
fn short_receive_buffer_loses_a_queued_pulse_with_efault() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    t.msg_send_pulse(coid, 10, 1, 1).unwrap();
    t.msg_send_pulse(coid, 10, 2, 2).unwrap();
    let mut short = [0u8; PULSE_SIZE - 1];
    assert_eq!(receive(&t, chid, &mut short, None), Err(Errno::EFAULT));
    // MsgReceivePulse too.
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    assert_eq!(t.msg_receive_pulse(chid, &mut short), Err(Errno::EFAULT));
    // Both pulses are lost: nothing is left for the next receive.
    assert_eq!(k.pool_usage().pulses.live, 0);
    let mut buf = [0u8; 64];
    assert_eq!(poll(&t, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    still_works(&t, coid, chid);
}

#[test]
fn short_receive_buffer_loses_a_directly_delivered_pulse_with_efault() {
    let k = kernel();
    let One {
        p, t, chid, coid, ..
    } = one_on(&k);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |r| {
            let mut short = [0u8; 8];
            receive(r, chid, &mut short, None)
        });
        wait_receive_blocked(&k, p.pid, tid);
        // The pulse is lost, and the sender learns of the fault, as on QNX: ESRVRFAULT.
        assert_eq!(t.msg_send_pulse(coid, 10, 1, 1), Err(Errno::ESRVRFAULT));
        assert_eq!(h.join(), Err(Errno::EFAULT));
    });
    let mut buf = [0u8; 64];
    assert_eq!(poll(&t, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    still_works(&t, coid, chid);
}

#[test]
fn short_receive_buffer_still_takes_messages() {
    let k = kernel();
    let One {
        p,
        t: server,
        chid,
        coid,
        ..
    } = one_on(&k);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"a long message", &mut r)
        });
        let mut short = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut short, Some(&mut info)).unwrap();
        assert!(rcvid > 0);
        assert_eq!(&short, b"a lo");
        assert_eq!((info.msglen, info.srcmsglen), (4, 14));
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

// ------------------------------------------------------------------ exhausted pools

#[test]
fn exhausted_process_pool_is_eagain_and_the_kernel_keeps_working() {
    let k = Kernel::new(Config::small()).unwrap();
    let start = live(&k);
    let cap = k.pool_usage().processes.capacity;
    assert_eq!(cap, 4);
    let mut procs: Vec<Pid> = (0..cap).map(|_| k.process_create().unwrap()).collect();
    assert_eq!(k.process_create(), Err(Errno::EAGAIN));
    assert_eq!(k.process_create(), Err(Errno::EAGAIN));
    assert_eq!(k.pool_usage().processes.live, cap);
    let gone = procs.pop().unwrap();
    k.process_destroy(gone).unwrap();
    let p = k.process_create().unwrap();
    assert!(
        procs.iter().chain([&gone]).all(|q| q.pid != p.pid),
        "a fresh pid"
    );
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let coid = t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    still_works(&t, coid, chid);
    drop(t);
    procs.push(p);
    teardown(&k, &procs, start);
}

#[test]
fn exhausted_thread_pool_is_eagain_and_the_kernel_keeps_working() {
    let k = Kernel::new(Config::small()).unwrap();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let cap = k.pool_usage().threads.capacity;
    let mut ts: Vec<ThreadCtx> = (0..cap).map(|_| k.thread_attach(p, 10).unwrap()).collect();
    assert_eq!(k.thread_attach(p, 10).err(), Some(Errno::EAGAIN));
    assert_eq!(k.pool_usage().threads.live, cap);
    // Thread exit frees a slot.
    ts.pop();
    let t = k.thread_attach(p, 10).unwrap();
    // tids are not reused.
    assert_eq!(t.tid(), cap as i32 + 1);
    let chid = t.channel_create(0).unwrap();
    let coid = t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    still_works(&t, coid, chid);
    drop(t);
    drop(ts);
    teardown(&k, &[p], start);
}

#[test]
fn exhausted_channel_pool_is_eagain_and_the_kernel_keeps_working() {
    let cfg = Config {
        max_channels: 3,
        chids_per_process: 8,
        ..Config::small()
    };
    let k = Kernel::new(cfg).unwrap();
    let start = live(&k);
    let a = k.process_create().unwrap();
    let b = k.process_create().unwrap();
    let ta = k.thread_attach(a, 10).unwrap();
    let tb = k.thread_attach(b, 10).unwrap();
    assert_eq!(ta.channel_create(0), Ok(1));
    assert_eq!(ta.channel_create(0), Ok(2));
    assert_eq!(ta.channel_create(0), Ok(3));
    assert_eq!(ta.channel_create(0), Err(Errno::EAGAIN));
    // The pool is kernel-wide: another process is refused too.
    assert_eq!(tb.channel_create(0), Err(Errno::EAGAIN));
    assert_eq!(tb.channel_create(_NTO_CHF_THREAD_DEATH), Err(Errno::EAGAIN));
    ta.channel_destroy(2).unwrap();
    let chid = tb.channel_create(_NTO_CHF_THREAD_DEATH).unwrap();
    assert_eq!(chid, 1);
    let coid = tb.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    still_works(&tb, coid, chid);
    drop((ta, tb));
    teardown(&k, &[a, b], start);
}

#[test]
fn full_chid_table_of_a_process_is_eagain() {
    let cfg = Config {
        max_channels: 16,
        chids_per_process: 2,
        ..Config::small()
    };
    let k = Kernel::new(cfg).unwrap();
    let a = k.process_create().unwrap();
    let b = k.process_create().unwrap();
    let ta = k.thread_attach(a, 10).unwrap();
    let tb = k.thread_attach(b, 10).unwrap();
    assert_eq!(ta.channel_create(0), Ok(1));
    assert_eq!(ta.channel_create(0), Ok(2));
    assert_eq!(ta.channel_create(0), Err(Errno::EAGAIN));
    assert_eq!(k.pool_usage().channels.live, 2);
    assert_eq!(tb.channel_create(0), Ok(1));
}

#[test]
fn exhausted_connection_pool_is_eagain_and_the_kernel_keeps_working() {
    let cfg = Config {
        max_connections: 3,
        side_coids_per_process: 16,
        fd_coids_per_process: 16,
        ..Config::small()
    };
    let k = Kernel::new(cfg).unwrap();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let chid2 = t.channel_create(0).unwrap();
    let mut coids = Vec::new();
    for _ in 0..3 {
        coids.push(
            t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
                .unwrap(),
        );
    }
    assert_eq!(
        t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE),
        Err(Errno::EAGAIN)
    );
    assert_eq!(t.connect_attach(0, 0, chid2, 0, 0), Err(Errno::EAGAIN));
    assert_eq!(k.pool_usage().connections.live, 3);
    // A failed attach takes no coid: the next fd coid is still 0.
    t.connect_detach(coids.pop().unwrap()).unwrap();
    assert_eq!(t.connect_attach(0, 0, chid2, 0, 0), Ok(0));
    coids.push(0);
    still_works(&t, coids[0], chid);
    for c in coids {
        t.connect_detach(c).unwrap();
    }
    drop(t);
    teardown(&k, &[p], start);
}

#[test]
fn full_side_channel_tables_are_eagain() {
    let cfg = Config {
        side_coids_per_process: 4, // slots 1..=3
        ..Config::default()
    };
    let k = Kernel::new(cfg).unwrap();
    let s1 = k.process_create().unwrap();
    let s2 = k.process_create().unwrap();
    let c = k.process_create().unwrap();
    let t1 = k.thread_attach(s1, 10).unwrap();
    let t2 = k.thread_attach(s2, 10).unwrap();
    let tc = k.thread_attach(c, 10).unwrap();
    let ch1 = t1.channel_create(0).unwrap();
    let ch2 = t2.channel_create(0).unwrap();
    // The client's own side table fills up (the servers still have room for scoids).
    let side = |pid, chid| tc.connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE);
    assert_eq!(side(s1.pid, ch1), Ok(0x4000_0001));
    assert_eq!(side(s1.pid, ch1), Ok(0x4000_0002));
    assert_eq!(side(s2.pid, ch2), Ok(0x4000_0003));
    assert_eq!(side(s2.pid, ch2), Err(Errno::EAGAIN));
    assert_eq!(k.pool_usage().connections.live, 3);
    // fd-space coids still work; then the server's table of scoids fills up.
    assert_eq!(
        tc.connect_attach(0, s2.pid, ch2, 0, _NTO_COF_NOSHARE),
        Ok(0)
    );
    assert_eq!(
        tc.connect_attach(0, s2.pid, ch2, 0, _NTO_COF_NOSHARE),
        Ok(1)
    );
    assert_eq!(
        tc.connect_attach(0, s2.pid, ch2, 0, _NTO_COF_NOSHARE),
        Err(Errno::EAGAIN),
        "s2 has no scoid slot left"
    );
    assert_eq!(k.pool_usage().connections.live, 5);
    // The failed attach took no fd coid.
    tc.connect_detach(1).unwrap();
    assert_eq!(
        tc.connect_attach(0, s2.pid, ch2, 0, _NTO_COF_NOSHARE),
        Ok(1)
    );
}

#[test]
fn exhausted_pulse_pool_is_eagain_and_the_kernel_keeps_working() {
    let k = Kernel::new(Config::small()).unwrap();
    let start = live(&k);
    let One {
        p, t, chid, coid, ..
    } = one_on(&k);
    let cap = k.pool_usage().pulses.capacity;
    for i in 0..cap as i32 {
        t.msg_send_pulse(coid, 10, 1, i).unwrap();
    }
    assert_eq!(t.msg_send_pulse(coid, 10, 1, -1), Err(Errno::EAGAIN));
    assert_eq!(t.msg_send_pulse(coid, 99, 2, -2), Err(Errno::EAGAIN));
    assert_eq!(k.pool_usage().pulses.live, cap);
    assert_eq!(
        k.process_counters(p.pid).unwrap().pulses_sent,
        u64::from(cap)
    );
    // Nothing changed: the queued pulses come out in order, and there is room again.
    assert_eq!(receive_pulse(&t, chid).value_int(), 0);
    t.msg_send_pulse(coid, 10, 1, 100).unwrap();
    for i in 1..cap as i32 {
        assert_eq!(receive_pulse(&t, chid).value_int(), i);
    }
    assert_eq!(receive_pulse(&t, chid).value_int(), 100);
    still_works(&t, coid, chid);
    drop(t);
    teardown(&k, &[p], start);
}

#[test]
fn unblock_request_with_no_room_for_the_pulse_releases_the_client() {
    // QNX's unblock protocol: if the pulse cannot be queued, the client is released anyway.
    let k = Kernel::new(Config::small()).unwrap();
    let start = live(&k);
    let One {
        p, t: server, chid, ..
    } = one_on(&k);
    // Fill the (kernel-wide) pulse pool on another channel.
    let other = server.channel_create(0).unwrap();
    let ocoid = server
        .connect_attach(0, 0, other, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let cap = k.pool_usage().pulses.capacity;
    for i in 0..cap as i32 {
        server.msg_send_pulse(ocoid, 10, 1, i).unwrap();
    }
    server.channel_destroy(chid).unwrap();
    let chid = server.channel_create(_NTO_CHF_UNBLOCK).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let me = Peer::of(&server);
    thread::scope(|s| {
        let _guard = ReleaseOnPanic {
            owner: &server,
            chid,
        };
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            // Straight to REPLY-blocked, bounded short.
            let mut r = [0u8; 4];
            send_when_receive_blocked(t, &k, me, coid, SHORT, b"let me go", &mut r)
        });
        let mut buf = [0u8; 16];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(h.join(), Err(Errno::ETIMEDOUT));
        assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    });
    assert_eq!(k.pool_usage().pulses.live, cap);
    let mut buf = [0u8; 32];
    assert_eq!(poll(&server, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    drop(server);
    teardown(&k, &[p], start);
}

// ------------------------------------------------------------------ bad iovs

#[test]
fn overflowing_send_iov_lengths_are_eoverflow() {
    let k = kernel();
    let One { t, coid, .. } = one_on(&k);
    let a = [0u8; 8];
    let mut r = [0u8; 8];
    let huge = Iov {
        base: a.as_ptr() as u64,
        len: u64::MAX,
    };
    let one_byte = Iov::from_slice(&a[..1]);
    let rbuf = [Iov::from_mut_slice(&mut r)];
    // SAFETY: the kernel checks the lengths before touching any buffer (documented on
    // msg_sendv_raw); the bases are valid pointers.
    let sum_wraps = unsafe { t.msg_sendv_raw(coid, &[huge, one_byte], &rbuf) };
    assert_eq!(sum_wraps, Err(Errno::EOVERFLOW));
    let too_big = Iov {
        base: a.as_ptr() as u64,
        len: isize::MAX as u64 + 1,
    };
    // SAFETY: as above.
    let over_ssize_max = unsafe { t.msg_sendv_raw(coid, &[too_big], &rbuf) };
    assert_eq!(over_ssize_max, Err(Errno::EOVERFLOW));
    // The reply side is checked too.
    let rhuge = Iov {
        base: r.as_mut_ptr() as u64,
        len: u64::MAX,
    };
    // SAFETY: as above.
    let reply_wraps = unsafe { t.msg_sendv_raw(coid, &[one_byte], &[rhuge, rhuge]) };
    assert_eq!(reply_wraps, Err(Errno::EOVERFLOW));
    assert_eq!(k.process_counters(t.pid()).unwrap().msgs_sent, 0);
}

#[test]
fn overflowing_receive_iov_lengths_are_eoverflow() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    t.msg_send_pulse(coid, 10, 1, 1).unwrap();
    let mut b = [0u8; 32];
    let huge = Iov {
        base: b.as_mut_ptr() as u64,
        len: u64::MAX,
    };
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    // SAFETY: the kernel rejects the lengths before writing anything.
    let r = unsafe { t.msg_receivev_raw(chid, &[huge, huge], None) };
    assert_eq!(r, Err(Errno::EOVERFLOW));
    // The pulse is still there.
    assert_eq!(receive_pulse(&t, chid).value_int(), 1);
}

#[test]
fn null_base_with_a_length_is_efault_for_the_sender_and_receiver() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    let mut r = [0u8; 8];
    let null = Iov { base: 0, len: 4 };
    let ok = [0u8; 4];
    // SAFETY: the kernel rejects null bases before touching any buffer.
    let send_null = unsafe { t.msg_sendv_raw(coid, &[null], &[Iov::from_mut_slice(&mut r)]) };
    assert_eq!(send_null, Err(Errno::EFAULT));
    // SAFETY: as above.
    let reply_null = unsafe { t.msg_sendv_raw(coid, &[Iov::from_slice(&ok)], &[null]) };
    assert_eq!(reply_null, Err(Errno::EFAULT));
    arm(&t, _NTO_TIMEOUT_RECEIVE, None);
    // SAFETY: as above.
    let recv_null = unsafe { t.msg_receivev_raw(chid, &[null], None) };
    assert_eq!(recv_null, Err(Errno::EFAULT));
    assert_eq!(k.process_counters(t.pid()).unwrap().msgs_sent, 0);
}

#[test]
fn null_base_with_zero_length_is_allowed() {
    let k = kernel();
    let One {
        p,
        t: server,
        chid,
        coid,
        ..
    } = one_on(&k);
    let empty = Iov { base: 0, len: 0 };
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let data = *b"xy";
            arm(t, SEND_REPLY, Some(LONG));
            // SAFETY: the non-empty part is our live array; the empty parts are never touched.
            unsafe { t.msg_sendv_raw(coid, &[empty, Iov::from_slice(&data), empty], &[empty]) }
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (2, 2, 0));
        assert_eq!(&buf[..2], b"xy");
        // SAFETY: the only part is empty.
        unsafe { server.msg_replyv_raw(rcvid, 5, &[empty]) }.unwrap();
        assert_eq!(h.join(), Ok(5));
    });
}

#[test]
fn null_base_in_the_repliers_own_buffer_is_esrvrfault_for_both_sides() {
    let k = kernel();
    let One {
        p,
        t: server,
        chid,
        coid,
        ..
    } = one_on(&k);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 8];
            send(t, coid, b"q", &mut r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        let null = Iov { base: 0, len: 8 };
        // SAFETY: the kernel rejects the null base before touching any buffer.
        let r = unsafe { server.msg_replyv_raw(rcvid, 0, &[null]) };
        assert_eq!(r, Err(Errno::ESRVRFAULT));
        // The client is released with the same error, and the rcvid is spent.
        assert_eq!(h.join(), Err(Errno::ESRVRFAULT));
        assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    });
}

// ------------------------------------------------------------------ priorities

#[test]
fn priorities_out_of_range_are_einval() {
    let k = kernel();
    let start = live(&k);
    let One {
        p, t, chid, coid, ..
    } = one_on(&k);
    for prio in [0, 256, -1, 1000] {
        assert_eq!(
            t.set_priority(prio),
            Err(Errno::EINVAL),
            "set_priority({prio})"
        );
        assert_eq!(
            k.thread_attach(p, prio).err(),
            Some(Errno::EINVAL),
            "thread_attach(_, {prio})"
        );
    }
    assert_eq!(t.priority(), Ok((10, 10)));
    assert_eq!(k.pool_usage().threads.live, 1);
    for prio in [0, 256] {
        assert_eq!(t.msg_send_pulse(coid, prio, 1, 0), Err(Errno::EINVAL));
    }
    for code in [-1, i8::MIN] {
        assert_eq!(t.msg_send_pulse(coid, 10, code, 0), Err(Errno::EINVAL));
    }
    assert_eq!(k.pool_usage().pulses.live, 0);
    // The limits themselves are fine.
    assert_eq!(t.set_priority(255), Ok(10));
    assert_eq!(t.set_priority(1), Ok(255));
    let u = k.thread_attach(p, 255).unwrap();
    assert_eq!(u.priority(), Ok((255, 255)));
    still_works(&t, coid, chid);
    drop((t, u));
    teardown(&k, &[p], start);
}

#[test]
fn timer_timeout_with_an_unknown_clock_is_einval_and_arms_nothing() {
    let k = kernel();
    let One { t, chid, coid, .. } = one_on(&k);
    assert_eq!(
        t.timer_timeout(99, _NTO_TIMEOUT_RECEIVE, None),
        Err(Errno::EINVAL)
    );
    // Nothing was armed: a receive blocks until the pulse comes.
    let me = Peer::of(&t);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, t.process(), 10, |u| {
            pulse_when_receive_blocked(u, &k, me, Duration::ZERO, coid, 2)
        });
        let mut buf = [0u8; 32];
        assert_eq!(t.msg_receive(chid, &mut buf, None), Ok(0));
        assert_eq!(h.join(), Ok(()));
    });
}
