//! ChannelCreate / ChannelDestroy conformance (QNX: ChannelCreate, ChannelDestroy).

mod support;

use std::thread;
use support::*;

#[test]
fn chids_start_at_1_and_reuse_the_lowest_free() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    assert_eq!(t.channel_create(0), Ok(1));
    assert_eq!(t.channel_create(0), Ok(2));
    assert_eq!(t.channel_create(_NTO_CHF_UNBLOCK), Ok(3));
    assert_eq!(t.channel_destroy(2), Ok(()));
    assert_eq!(t.channel_create(0), Ok(2));
    assert_eq!(t.channel_create(0), Ok(4));
    assert_eq!(k.pool_usage().channels.live, 4);
    for chid in 1..=4 {
        assert_eq!(t.channel_destroy(chid), Ok(()));
    }
    drop(t);
    teardown(&k, &[p], start);
}

#[test]
fn channel_create_with_unknown_flags_is_einval() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    assert_eq!(t.channel_create(0x0001_0000), Err(Errno::EINVAL));
    assert_eq!(t.channel_create(0x8000_0000), Err(Errno::EINVAL));
    assert_eq!(
        t.channel_create(_NTO_CHF_UNBLOCK | 0x0010_0000),
        Err(Errno::EINVAL)
    );
    assert_eq!(k.pool_usage().channels.live, 0);
    // Nothing was consumed: the first channel still gets chid 1.
    assert_eq!(t.channel_create(0), Ok(1));
}

#[test]
fn channel_create_with_net_msg_is_eperm() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    assert_eq!(t.channel_create(_NTO_CHF_NET_MSG), Err(Errno::EPERM));
    assert_eq!(
        t.channel_create(_NTO_CHF_NET_MSG | _NTO_CHF_UNBLOCK),
        Err(Errno::EPERM)
    );
    assert_eq!(k.pool_usage().channels.live, 0);
}

#[test]
fn second_death_channel_in_a_process_is_ebusy() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let q = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let u = k.thread_attach(q, 10).unwrap();
    assert_eq!(t.channel_create(_NTO_CHF_THREAD_DEATH), Ok(1));
    assert_eq!(t.channel_create(_NTO_CHF_THREAD_DEATH), Err(Errno::EBUSY));
    assert_eq!(
        t.channel_create(_NTO_CHF_COID_DISCONNECT),
        Err(Errno::EBUSY)
    );
    assert_eq!(
        t.channel_create(_NTO_CHF_COID_DISCONNECT | _NTO_CHF_THREAD_DEATH),
        Err(Errno::EBUSY)
    );
    // Ordinary channels are unaffected, and so is another process.
    assert_eq!(
        t.channel_create(_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT),
        Ok(2)
    );
    assert_eq!(u.channel_create(_NTO_CHF_COID_DISCONNECT), Ok(1));
    assert_eq!(u.channel_create(_NTO_CHF_THREAD_DEATH), Err(Errno::EBUSY));
    // Once the death channel is gone, the process may make another.
    assert_eq!(t.channel_destroy(1), Ok(()));
    assert_eq!(t.channel_create(_NTO_CHF_COID_DISCONNECT), Ok(1));
    drop((t, u));
    teardown(&k, &[p, q], start);
}

#[test]
fn channel_destroy_of_unknown_chid_is_einval() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let q = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let u = k.thread_attach(q, 10).unwrap();
    for chid in [0, -1, 1, 99, i32::MAX, i32::MIN] {
        assert_eq!(t.channel_destroy(chid), Err(Errno::EINVAL), "chid {chid}");
    }
    let chid = t.channel_create(0).unwrap();
    // Another process's chid is not ours.
    assert_eq!(u.channel_destroy(chid), Err(Errno::EINVAL));
    assert_eq!(t.channel_destroy(chid), Ok(()));
    // Destroyed: unknown now.
    assert_eq!(t.channel_destroy(chid), Err(Errno::EINVAL));
}

#[test]
fn msg_receive_on_unknown_chid_is_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let q = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let u = k.thread_attach(q, 10).unwrap();
    let mut buf = [0u8; 64];
    for chid in [0, -1, 1, 99] {
        assert_eq!(receive(&t, chid, &mut buf, None), Err(Errno::ESRCH));
    }
    let chid = t.channel_create(0).unwrap();
    // A chid of another process does not name a channel of ours.
    assert_eq!(receive(&u, chid, &mut buf, None), Err(Errno::ESRCH));
    assert_eq!(u.msg_receive_pulse(chid, &mut buf), Err(Errno::ESRCH));
    t.channel_destroy(chid).unwrap();
    assert_eq!(receive(&t, chid, &mut buf, None), Err(Errno::ESRCH));
}

#[test]
fn destroyed_channel_releases_send_receive_and_reply_blocked_threads_with_esrch() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let mut buf = [0u8; 64];
    c.msg_send_pulse(coid, 10, 6, 66).unwrap();

    thread::scope(|s| {
        // REPLY-blocked: sent, received, never replied.
        let (replier, reply_tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 8];
            send(t, coid, b"reply-me", &mut r)
        });
        // The pulse is at the head; the message is behind it.
        assert_eq!(receive_pulse(&server, chid).code, 6);
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert!(rcvid > 0);
        assert_eq!(&buf[..8], b"reply-me");
        let st = wait_reply_blocked(&k, cli.pid, reply_tid);
        assert_eq!(
            st.state,
            ThreadState::Reply {
                pid: srv.pid,
                chid,
                tid: server.tid()
            }
        );
        // SEND-blocked: no receiver.
        let (sender, send_tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 8];
            send(t, coid, b"queued", &mut r)
        });
        let st = wait_send_blocked(&k, cli.pid, send_tid);
        assert_eq!(st.state, ThreadState::Send { pid: srv.pid, chid });
        // RECEIVE-blocked: a pulse-only receiver stays blocked while a message is queued.
        let (receiver, recv_tid) = spawn_scoped(s, &k, srv, 10, |t| {
            let mut b = [0u8; 64];
            arm(t, _NTO_TIMEOUT_RECEIVE, Some(LONG));
            t.msg_receive_pulse(chid, &mut b)
        });
        let st = wait_receive_blocked(&k, srv.pid, recv_tid);
        assert_eq!(st.state, ThreadState::Receive { chid });
        assert_eq!(server.channel_destroy(chid), Ok(()));
        assert_eq!(replier.join(), Err(Errno::ESRCH));
        assert_eq!(sender.join(), Err(Errno::ESRCH));
        assert_eq!(receiver.join(), Err(Errno::ESRCH));
    });
    assert_eq!(server.channel_destroy(chid), Err(Errno::EINVAL));
    c.connect_detach(coid).unwrap();
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn destroyed_channel_releases_a_receive_blocked_server_with_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let main = k.thread_attach(p, 10).unwrap();
    let chid = main.channel_create(0).unwrap();
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |t| {
            let mut b = [0u8; 64];
            let mut info = MsgInfo::default();
            receive(t, chid, &mut b, Some(&mut info))
        });
        wait_receive_blocked(&k, p.pid, tid);
        main.channel_destroy(chid).unwrap();
        assert_eq!(h.join(), Err(Errno::ESRCH));
    });
}

#[test]
fn destroyed_channel_leaves_a_reply_for_its_rcvid_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 4];
            send(t, coid, b"x", &mut r)
        });
        let mut b = [0u8; 8];
        let rcvid = receive(&server, chid, &mut b, None).unwrap();
        wait_reply_blocked(&k, p.pid, tid);
        server.channel_destroy(chid).unwrap();
        assert_eq!(h.join(), Err(Errno::ESRCH));
        assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
        assert_eq!(server.msg_read(rcvid, &mut b, 0), Err(Errno::ESRCH));
    });
}

#[test]
fn sends_and_pulses_on_coids_of_a_destroyed_channel_are_ebadf_until_detached() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let side = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let fd = c.connect_attach(0, srv.pid, chid, 0, 0).unwrap();
    server.channel_destroy(chid).unwrap();
    let mut r = [0u8; 4];
    for coid in [side, fd] {
        assert_eq!(send(&c, coid, b"hi", &mut r), Err(Errno::EBADF));
        assert_eq!(c.msg_send_pulse(coid, 10, 1, 1), Err(Errno::EBADF));
    }
    // The coids stay allocated until detached: a new attach does not reuse them.
    let chid2 = server.channel_create(0).unwrap();
    assert_eq!(chid2, chid, "the chid is reused");
    let fd2 = c.connect_attach(0, srv.pid, chid2, 0, 0).unwrap();
    assert_ne!(fd2, fd);
    // ...and the old coids do not reach the new channel that reuses the chid.
    assert_eq!(send(&c, fd, b"hi", &mut r), Err(Errno::EBADF));
    assert_eq!(c.connect_detach(side), Ok(()));
    assert_eq!(c.connect_detach(fd), Ok(()));
    // Detached: unknown coids now.
    assert_eq!(c.connect_detach(side), Err(Errno::EINVAL));
    assert_eq!(send(&c, side, b"hi", &mut r), Err(Errno::EBADF));
    c.connect_detach(fd2).unwrap();
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn destroying_a_channel_frees_its_queued_pulses_and_server_connections() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let a = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let b = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    for i in 0..5 {
        c.msg_send_pulse(a, 10, i as i8, i).unwrap();
    }
    c.msg_send_pulse(b, 10, 9, 9).unwrap();
    let u = k.pool_usage();
    assert_eq!(
        (u.pulses.live, u.connections.live, u.channels.live),
        (6, 2, 1)
    );
    server.channel_destroy(chid).unwrap();
    let u = k.pool_usage();
    assert_eq!(u.pulses.live, 0);
    assert_eq!(u.channels.live, 0);
    // The client's coids keep their connection objects until detached.
    assert_eq!(u.connections.live, 2);
    c.connect_detach(a).unwrap();
    c.connect_detach(b).unwrap();
    assert_eq!(k.pool_usage().connections.live, 0);
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn processes_have_their_own_pids_chids_and_coids() {
    let k = kernel();
    let start = live(&k);
    let a = k.process_create().unwrap();
    let b = k.process_create().unwrap();
    assert_ne!(a.pid, b.pid);
    assert!(a.pid > 0 && b.pid > 0);
    let ta = k.thread_attach(a, 10).unwrap();
    let tb = k.thread_attach(b, 10).unwrap();
    assert_eq!((ta.pid(), tb.pid()), (a.pid, b.pid));
    // Each process's first thread, channel, fd coid and side coid have the same numbers.
    assert_eq!((ta.tid(), tb.tid()), (1, 1));
    assert_eq!(ta.channel_create(0), Ok(1));
    assert_eq!(tb.channel_create(0), Ok(1));
    // Side-channel coids (to their own channel: the scoid takes the next side slot).
    let a_side = ta.connect_attach(0, 0, 1, _NTO_SIDE_CHANNEL, 0).unwrap();
    let b_side = tb.connect_attach(0, 0, 1, _NTO_SIDE_CHANNEL, 0).unwrap();
    assert_eq!(a_side, 0x4000_0001);
    assert_eq!(b_side, 0x4000_0001);
    // Each process attaches to the other's chid 1: both get fd coid 0.
    let a_to_b = ta.connect_attach(0, b.pid, 1, 0, 0).unwrap();
    let b_to_a = tb.connect_attach(0, a.pid, 1, 0, 0).unwrap();
    assert_eq!((a_to_b, b_to_a), (0, 0));
    // A pulse on A's coid 0 lands on B's channel 1 and vice versa.
    ta.msg_send_pulse(a_to_b, 10, 1, 0xA).unwrap();
    tb.msg_send_pulse(b_to_a, 10, 2, 0xB).unwrap();
    let pb = receive_pulse(&tb, 1);
    let pa = receive_pulse(&ta, 1);
    assert_eq!((pb.code, pb.value_int()), (1, 0xA));
    assert_eq!((pa.code, pa.value_int()), (2, 0xB));
    // And messages are attributed to the right process.
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, a, 10, |t| {
            let coid = t.connect_attach(0, b.pid, 1, _NTO_SIDE_CHANNEL, 0).unwrap();
            let mut r = [0u8; 2];
            let st = send(t, coid, b"from a", &mut r);
            t.connect_detach(coid).unwrap();
            st
        });
        let mut buf = [0u8; 16];
        let mut info = MsgInfo::default();
        let rcvid = receive(&tb, 1, &mut buf, Some(&mut info)).unwrap();
        assert_eq!((info.pid, info.tid, info.chid), (a.pid, tid, 1));
        assert_eq!(&buf[..6], b"from a");
        tb.msg_reply(rcvid, 3, b"ok").unwrap();
        assert_eq!(h.join(), Ok(3));
    });
    // Nothing was left on A's channel.
    let mut buf = [0u8; 32];
    assert_eq!(poll(&ta, 1, &mut buf, None), Err(Errno::ETIMEDOUT));
    drop((ta, tb));
    teardown(&k, &[a, b], start);
}

#[test]
fn process_destroy_destroys_its_channels_and_releases_clients_with_esrch() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    drop(server);
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 4];
            send(t, coid, b"anyone?", &mut r)
        });
        wait_send_blocked(&k, cli.pid, tid);
        k.process_destroy(srv).unwrap();
        assert_eq!(h.join(), Err(Errno::ESRCH));
    });
    let mut r = [0u8; 4];
    assert_eq!(send(&c, coid, b"again", &mut r), Err(Errno::EBADF));
    assert_eq!(
        c.connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0),
        Err(Errno::ESRCH)
    );
    c.connect_detach(coid).unwrap();
    drop(c);
    teardown(&k, &[cli], start);
}

#[test]
fn destroying_a_client_process_releases_its_threads_and_spends_their_rcvids() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    thread::scope(|s| {
        let (replied, rtid) = spawn_scoped(s, &k, cli, 10, |t| {
            let coid = t
                .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
                .unwrap();
            let mut r = [0u8; 4];
            send(t, coid, b"gone", &mut r)
        });
        let mut buf = [0u8; 8];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        wait_reply_blocked(&k, cli.pid, rtid);
        k.process_destroy(cli).unwrap();
        // The blocked thread is released; the kernel thread behind it is gone (its later
        // calls, including the end of this one, are ESRCH: docs/deviations.md).
        assert_eq!(replied.join(), Err(Errno::ESRCH));
        assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
        assert_eq!(server.msg_read(rcvid, &mut buf, 0), Err(Errno::ESRCH));
        assert_eq!(k.thread_info(cli.pid, rtid), Err(Errno::ESRCH));
    });
    // Its connection went with it; the channel is intact.
    assert_eq!(k.pool_usage().connections.live, 0);
    let mut buf = [0u8; 8];
    assert_eq!(poll(&server, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    drop(server);
    teardown(&k, &[srv], start);
}
