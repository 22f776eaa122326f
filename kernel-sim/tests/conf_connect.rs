//! ConnectAttach / ConnectDetach conformance (QNX: ConnectAttach, ConnectDetach).

mod support;

use std::thread;
use support::*;

/// Sends a pulse on `coid` and returns the scoid the server sees it arrive through.
fn scoid_via_pulse(client: &ThreadCtx, coid: i32, server: &ThreadCtx, chid: i32) -> i32 {
    client.msg_send_pulse(coid, 10, 1, coid).unwrap();
    let p = receive_pulse(server, chid);
    assert_eq!(p.value_int(), coid);
    p.scoid
}

#[test]
fn side_channel_coids_have_the_side_channel_bit() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let srv = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    let a = t
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let b = t
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    // Other index bits are ignored with _NTO_SIDE_CHANNEL: still the lowest free side slot.
    let c = t
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL | 7, 0)
        .unwrap();
    assert_eq!((a, b, c), (0x4000_0001, 0x4000_0002, 0x4000_0003));
    for coid in [a, b, c] {
        assert_eq!(coid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
    }
    // The lowest free side slot is reused.
    t.connect_detach(b).unwrap();
    let d = t
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_eq!(d, 0x4000_0002);
}

#[test]
fn fd_space_coids_are_the_lowest_free_at_or_above_index() {
    let k = kernel();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let at = |index| t.connect_attach(0, 0, chid, index, 0);
    assert_eq!(at(0), Ok(0));
    assert_eq!(at(0), Ok(1));
    assert_eq!(at(5), Ok(5));
    assert_eq!(at(3), Ok(3));
    assert_eq!(at(5), Ok(6));
    assert_eq!(at(0), Ok(2));
    t.connect_detach(1).unwrap();
    assert_eq!(at(0), Ok(1));
    assert_eq!(at(2), Ok(4));
    assert_eq!(at(255), Ok(255));
    for coid in [0, 1, 2, 3, 4, 5, 6, 255] {
        assert_eq!(coid as u32 & _NTO_SIDE_CHANNEL, 0);
        t.connect_detach(coid).unwrap();
    }
    t.channel_destroy(chid).unwrap();
    drop(t);
    teardown(&k, &[p], start);
}

#[test]
fn connect_attach_with_index_at_or_beyond_the_fd_table_size_is_einval() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let size = k.config().fd_coids_per_process;
    assert_eq!(t.connect_attach(0, 0, chid, size, 0), Err(Errno::EINVAL));
    assert_eq!(
        t.connect_attach(0, 0, chid, size + 1000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(k.pool_usage().connections.live, 0);
    assert_eq!(
        t.connect_attach(0, 0, chid, size - 1, 0),
        Ok(size as i32 - 1)
    );
}

#[test]
fn full_fd_coid_table_is_emfile() {
    let cfg = Config {
        fd_coids_per_process: 4,
        ..Config::default()
    };
    let k = Kernel::new(cfg).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    for coid in 0..4 {
        assert_eq!(t.connect_attach(0, 0, chid, 0, 0), Ok(coid));
    }
    assert_eq!(t.connect_attach(0, 0, chid, 0, 0), Err(Errno::EMFILE));
    assert_eq!(t.connect_attach(0, 0, chid, 2, 0), Err(Errno::EMFILE));
    // The side-channel space is separate.
    assert_eq!(
        t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0),
        Ok(0x4000_0002),
        "side slot 1 holds the server's scoid"
    );
    t.connect_detach(2).unwrap();
    assert_eq!(t.connect_attach(0, 0, chid, 0, 0), Ok(2));
}

#[test]
fn connect_attach_to_a_remote_node_is_enoremote() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    for nd in [1, 2, u32::MAX] {
        assert_eq!(
            t.connect_attach(nd, 0, chid, _NTO_SIDE_CHANNEL, 0),
            Err(Errno::ENOREMOTE)
        );
    }
    assert_eq!(
        t.connect_attach(ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0),
        Ok(0x4000_0001)
    );
}

#[test]
fn connect_attach_to_an_unknown_pid_or_chid_is_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    for pid in [9999, -5, i32::MAX] {
        assert_eq!(
            t.connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0),
            Err(Errno::ESRCH),
            "pid {pid}"
        );
    }
    for bad in [0, -1, chid + 1, 1000] {
        assert_eq!(
            t.connect_attach(0, p.pid, bad, _NTO_SIDE_CHANNEL, 0),
            Err(Errno::ESRCH),
            "chid {bad}"
        );
        assert_eq!(t.connect_attach(0, 0, bad, 0, 0), Err(Errno::ESRCH));
    }
    t.channel_destroy(chid).unwrap();
    assert_eq!(
        t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0),
        Err(Errno::ESRCH)
    );
    assert_eq!(k.pool_usage().connections.live, 0);
}

#[test]
fn connect_attach_with_unknown_flags_is_einval() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    for flags in [
        0x0004,
        0x0008,
        0x8000,
        0x8000_0000,
        _NTO_COF_NOSHARE | 0x0010,
    ] {
        assert_eq!(
            t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, flags),
            Err(Errno::EINVAL),
            "flags {flags:#x}"
        );
    }
    assert_eq!(k.pool_usage().connections.live, 0);
    assert_eq!(
        t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, _NTO_COF_CLOEXEC),
        Ok(0x4000_0001)
    );
}

#[test]
fn private_channel_accepts_only_its_own_process() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let other = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let o = k.thread_attach(other, 10).unwrap();
    let chid = s.channel_create(_NTO_CHF_PRIVATE).unwrap();
    assert_eq!(
        o.connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0),
        Err(Errno::EPERM)
    );
    assert_eq!(o.connect_attach(0, srv.pid, chid, 0, 0), Err(Errno::EPERM));
    assert_eq!(k.pool_usage().connections.live, 0);
    // The owner may connect, by pid 0 or by its own pid.
    let a = s.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let b = s
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    s.msg_send_pulse(a, 10, 3, 0).unwrap();
    s.msg_send_pulse(b, 10, 4, 0).unwrap();
    assert_eq!(receive_pulse(&s, chid).code, 3);
    assert_eq!(receive_pulse(&s, chid).code, 4);
}

#[test]
fn pid_zero_means_the_callers_own_process() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let by_zero = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let by_pid = server
        .connect_attach(0, p.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_ne!(by_zero, by_pid);
    // Both name the same channel through one shared connection.
    let s1 = scoid_via_pulse(&server, by_zero, &server, chid);
    let s2 = scoid_via_pulse(&server, by_pid, &server, chid);
    assert_eq!(s1, s2);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 1];
            send(t, by_zero, b"self", &mut r)
        });
        let mut buf = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!((info.pid, info.tid, info.coid), (p.pid, tid, by_zero));
        server.msg_reply(rcvid, 1, b"").unwrap();
        assert_eq!(h.join(), Ok(1));
    });
}

#[test]
fn two_attaches_from_one_process_share_one_scoid() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    let a = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let b = c.connect_attach(0, srv.pid, chid, 0, 0).unwrap();
    assert_ne!(a, b);
    assert_eq!(k.pool_usage().connections.live, 1, "one connection object");
    let sa = scoid_via_pulse(&c, a, &s, chid);
    let sb = scoid_via_pulse(&c, b, &s, chid);
    assert_eq!(sa, sb);
    assert_eq!(sa as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
    // The same scoid shows in MsgInfo for a message on either coid.
    thread::scope(|sc| {
        let (h, _) = spawn_scoped(sc, &k, cli, 10, |t| {
            let mut r = [0u8; 1];
            (send(t, a, b"a", &mut r), send(t, b, b"b", &mut r))
        });
        let mut buf = [0u8; 4];
        for coid in [a, b] {
            let mut info = MsgInfo::default();
            let rcvid = receive(&s, chid, &mut buf, Some(&mut info)).unwrap();
            assert_eq!((info.coid, info.scoid), (coid, sa));
            s.msg_reply(rcvid, 0, b"").unwrap();
        }
        assert_eq!(h.join(), (Ok(0), Ok(0)));
    });
    // The connection survives until its last coid goes.
    c.connect_detach(a).unwrap();
    assert_eq!(k.pool_usage().connections.live, 1);
    assert_eq!(scoid_via_pulse(&c, b, &s, chid), sa);
    c.connect_detach(b).unwrap();
    assert_eq!(k.pool_usage().connections.live, 0);
    drop((s, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn noshare_attach_gets_its_own_scoid() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    let plain = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let noshare = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    let plain2 = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_eq!(k.pool_usage().connections.live, 2);
    let s_plain = scoid_via_pulse(&c, plain, &s, chid);
    let s_noshare = scoid_via_pulse(&c, noshare, &s, chid);
    let s_plain2 = scoid_via_pulse(&c, plain2, &s, chid);
    assert_ne!(s_plain, s_noshare);
    assert_eq!(
        s_plain, s_plain2,
        "a later plain attach shares the plain connection"
    );
    assert_eq!(s_noshare as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
}

#[test]
fn attaches_from_different_processes_get_different_scoids() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let c1p = k.process_create().unwrap();
    let c2p = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c1 = k.thread_attach(c1p, 10).unwrap();
    let c2 = k.thread_attach(c2p, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    let a = c1
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let b = c2
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_eq!(a, b, "each process has its own coid space");
    assert_ne!(
        scoid_via_pulse(&c1, a, &s, chid),
        scoid_via_pulse(&c2, b, &s, chid)
    );
}

#[test]
fn connect_detach_of_an_unknown_coid_is_einval() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    for coid in [
        0,
        5,
        -1,
        i32::MIN,
        0x4000_0000,
        0x4000_0005,
        0x4fff_ffff,
        100_000,
    ] {
        assert_eq!(t.connect_detach(coid), Err(Errno::EINVAL), "coid {coid:#x}");
    }
    let coid = t.connect_attach(0, 0, chid, 0, 0).unwrap();
    assert_eq!(t.connect_detach(coid), Ok(()));
    assert_eq!(t.connect_detach(coid), Err(Errno::EINVAL));
    // A coid of another process is not ours.
    let q = k.process_create().unwrap();
    let u = k.thread_attach(q, 10).unwrap();
    let theirs = u.connect_attach(0, p.pid, chid, 7, 0).unwrap();
    assert_eq!(theirs, 7);
    assert_eq!(t.connect_detach(theirs), Err(Errno::EINVAL));
    assert_eq!(u.connect_detach(theirs), Ok(()));
}

#[test]
fn connect_detach_of_a_linked_scoid_is_einval() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let s = k.thread_attach(srv, 10).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let chid = s.channel_create(0).unwrap();
    let coid = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let scoid = scoid_via_pulse(&c, coid, &s, chid);
    assert_eq!(s.connect_detach(scoid), Err(Errno::EINVAL));
    // The connection still works.
    assert_eq!(scoid_via_pulse(&c, coid, &s, chid), scoid);
    // Without _NTO_CHF_DISCONNECT the server connection goes with the client's last link.
    c.connect_detach(coid).unwrap();
    assert_eq!(s.connect_detach(scoid), Err(Errno::EINVAL));
    drop((s, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn connect_detach_releases_other_threads_blocked_on_that_coid_with_ebadf() {
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
    thread::scope(|s| {
        let (replier, reply_tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 4];
            send(t, coid, b"first", &mut r)
        });
        let mut buf = [0u8; 8];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        wait_reply_blocked(&k, cli.pid, reply_tid);
        let (sender, send_tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 4];
            send(t, coid, b"second", &mut r)
        });
        wait_send_blocked(&k, cli.pid, send_tid);
        assert_eq!(c.connect_detach(coid), Ok(()));
        assert_eq!(replier.join(), Err(Errno::EBADF));
        assert_eq!(sender.join(), Err(Errno::EBADF));
        // The server's rcvid is dead and the sender left the queue.
        assert_eq!(server.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
        assert_eq!(poll(&server, chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    });
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn connect_detach_leaves_threads_blocked_on_another_coid_of_the_same_connection() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let a = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let b = c
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 4];
            let st = send(t, b, b"on b", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 8];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        wait_reply_blocked(&k, cli.pid, tid);
        c.connect_detach(a).unwrap();
        // Still REPLY-blocked, and the reply still reaches it.
        let st = k.thread_info(cli.pid, tid).unwrap().state;
        assert_eq!(
            st,
            ThreadState::Reply {
                pid: srv.pid,
                chid,
                tid: server.tid()
            }
        );
        server.msg_reply(rcvid, 8, b"done").unwrap();
        assert_eq!(h.join(), (Ok(8), *b"done"));
    });
}

#[test]
fn connect_detach_leaves_the_detaching_process_other_coids_and_other_processes_alone() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let c1p = k.process_create().unwrap();
    let c2p = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c1 = k.thread_attach(c1p, 10).unwrap();
    let c2 = k.thread_attach(c2p, 10).unwrap();
    let coid1 = c1
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let coid2 = c2
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    assert_eq!(coid1, coid2);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, c2p, 10, |t| {
            let mut r = [0u8; 4];
            send(t, coid2, b"c2", &mut r)
        });
        wait_send_blocked(&k, c2p.pid, tid);
        // Process 1 detaching its coid with the same number does not touch process 2's sender.
        c1.connect_detach(coid1).unwrap();
        assert!(matches!(
            k.thread_info(c2p.pid, tid).unwrap().state,
            ThreadState::Send { .. }
        ));
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.pid, c2p.pid);
        server.msg_reply(rcvid, 2, b"").unwrap();
        assert_eq!(h.join(), Ok(2));
    });
}
