//! MsgRead / MsgWrite / MsgInfo and the `_msg_info` fields (QNX: MsgRead, MsgWrite, MsgInfo).

mod support;

use std::thread;
use support::*;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn msg_info_fields_describe_the_client_and_its_buffers() {
    let k = kernel();
    let start = live(&k);
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    // Use a second channel, so that chid is not trivially 1.
    server.channel_create(0).unwrap();
    let chid = server.channel_create(0).unwrap();
    assert_eq!(chid, 2);
    let c = k.thread_attach(cli, 10).unwrap();
    let coid = c
        .connect_attach(ND_LOCAL_NODE, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // The scoid the server sees for this connection, learned from a pulse.
    c.msg_send_pulse(coid, 10, 1, 0).unwrap();
    let pulse_scoid = receive_pulse(&server, chid).scoid;
    let msg = pattern(300);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, cli, 37, |t| {
            let (mut r1, mut r2) = ([0u8; 50], [0u8; 30]);
            arm(t, SEND_REPLY, Some(LONG));
            t.msg_sendv(coid, &[&msg[..100], &msg[100..]], &mut [&mut r1, &mut r2])
        });
        let mut buf = [0u8; 120];
        let mut info = MsgInfo {
            type_id: 0xdead,
            reserved: 0xbeef,
            ..MsgInfo::default()
        };
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.nd, ND_LOCAL_NODE);
        assert_eq!(info.srcnd, 0, "the nd the client used in ConnectAttach");
        assert_eq!(info.pid, cli.pid);
        assert_eq!(info.tid, tid);
        assert_eq!(info.chid, chid);
        assert_eq!(info.scoid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
        assert_eq!(info.scoid, pulse_scoid);
        assert_eq!(info.coid, coid);
        assert_eq!(info.msglen, 120);
        assert_eq!(info.srcmsglen, 300);
        assert_eq!(info.dstmsglen, 80);
        assert_eq!(info.priority, 37);
        assert_eq!(info.flags, 0);
        assert_eq!((info.type_id, info.reserved), (0, 0));
        assert_eq!(&buf[..], &msg[..120]);
        // MsgInfo refills the same description while the client is REPLY-blocked.
        assert_eq!(server.msg_info(rcvid), Ok(info));
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
    c.connect_detach(coid).unwrap();
    drop((server, c));
    teardown(&k, &[srv, cli], start);
}

#[test]
fn msg_info_coid_is_the_fd_coid_used_for_the_send() {
    let k = kernel();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let c = k.thread_attach(cli, 10).unwrap();
    let fd = c.connect_attach(0, srv.pid, chid, 3, 0).unwrap();
    assert_eq!(fd, 3);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, cli, 10, |t| {
            let mut r = [0u8; 0];
            send(t, fd, b"fd", &mut r)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.coid, 3);
        assert_eq!(info.dstmsglen, 0);
        assert_eq!(info.scoid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
        server.msg_reply(rcvid, 0, b"ignored").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn msg_info_on_an_unknown_pulse_or_stale_rcvid_is_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    for rcvid in [0, -1, 1, 0x8001, i32::MAX as RcvId, i64::MAX] {
        assert_eq!(
            server.msg_info(rcvid),
            Err(Errno::ESRCH),
            "rcvid {rcvid:#x}"
        );
    }
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 0];
            send(t, coid, b"x", &mut r)
        });
        let mut buf = [0u8; 4];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert!(server.msg_info(rcvid).is_ok());
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
        assert_eq!(server.msg_info(rcvid), Err(Errno::ESRCH));
    });
}

#[test]
fn pulse_receive_leaves_msg_info_untouched() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    server.msg_send_pulse(coid, 10, 1, 2).unwrap();
    let sentinel = MsgInfo {
        nd: 7,
        pid: -7,
        msglen: 777,
        ..MsgInfo::default()
    };
    let mut info = sentinel;
    let mut buf = [0u8; 32];
    assert_eq!(receive(&server, chid, &mut buf, Some(&mut info)), Ok(0));
    assert_eq!(info, sentinel);
}

#[test]
fn msg_read_fetches_the_rest_from_an_offset() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let msg = pattern(100);
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 0];
            arm(t, SEND_REPLY, Some(LONG));
            // Gathered from three parts: MsgRead sees one contiguous message.
            t.msg_sendv(coid, &[&msg[..33], &msg[33..34], &msg[34..]], &mut [&mut r])
        });
        let mut head = [0u8; 40];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut head, Some(&mut info)).unwrap();
        assert_eq!((info.msglen, info.srcmsglen), (40, 100));
        // The rest, from where the receive stopped.
        let mut rest = [0xEEu8; 60];
        assert_eq!(
            server.msg_read(rcvid, &mut rest, info.msglen as usize),
            Ok(60)
        );
        assert_eq!(&rest[..], &msg[40..]);
        // From the middle of a part, across parts.
        let mut mid = [0u8; 10];
        assert_eq!(server.msg_read(rcvid, &mut mid, 30), Ok(10));
        assert_eq!(&mid[..], &msg[30..40]);
        // A short count at the end.
        let mut tail = [0xEEu8; 30];
        assert_eq!(server.msg_read(rcvid, &mut tail, 90), Ok(10));
        assert_eq!(&tail[..10], &msg[90..]);
        assert_eq!(&tail[10..], &[0xEE; 20]);
        // Nothing at or past the end.
        assert_eq!(server.msg_read(rcvid, &mut tail, 100), Ok(0));
        assert_eq!(server.msg_read(rcvid, &mut tail, 5000), Ok(0));
        // A zero-length read.
        assert_eq!(server.msg_read(rcvid, &mut [], 0), Ok(0));
        // Reading leaves the client REPLY-blocked.
        assert!(matches!(
            k.thread_info(p.pid, tid).unwrap().state,
            ThreadState::Reply { .. }
        ));
        server.msg_reply(rcvid, 1, b"").unwrap();
        assert_eq!(h.join(), Ok(1));
        assert_eq!(server.msg_read(rcvid, &mut tail, 0), Err(Errno::ESRCH));
    });
}

#[test]
fn msg_readv_scatters_from_an_offset() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let msg = pattern(64);
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 0];
            send(t, coid, &msg, &mut r)
        });
        let mut none = [0u8; 0];
        let rcvid = receive(&server, chid, &mut none, None).unwrap();
        let (mut a, mut b, mut c) = ([0u8; 5], [0u8; 0], [0u8; 100]);
        assert_eq!(
            server.msg_readv(rcvid, &mut [&mut a[..], &mut b[..], &mut c[..]], 4),
            Ok(60)
        );
        assert_eq!(&a[..], &msg[4..9]);
        assert_eq!(&c[..55], &msg[9..]);
        server.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(h.join(), Ok(0));
    });
}

#[test]
fn msg_write_before_reply_lands_at_its_offset_and_reply_completes() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, tid) = spawn_scoped(s, &k, p, 10, |t| {
            let mut r = [0u8; 64];
            let st = send(t, coid, b"write to me", &mut r);
            (st, r)
        });
        let mut buf = [0u8; 16];
        let rcvid = receive(&server, chid, &mut buf, None).unwrap();
        assert_eq!(server.msg_write(rcvid, b"WXYZ", 10), Ok(4));
        // A short count at the end of the client's buffer; nothing past it.
        assert_eq!(server.msg_write(rcvid, b"1234", 62), Ok(2));
        assert_eq!(server.msg_write(rcvid, b"1234", 64), Ok(0));
        assert_eq!(server.msg_write(rcvid, b"1234", 1000), Ok(0));
        // Writing leaves the client REPLY-blocked.
        assert!(matches!(
            k.thread_info(p.pid, tid).unwrap().state,
            ThreadState::Reply { .. }
        ));
        // The reply then lands from offset 0 and completes the exchange.
        server.msg_reply(rcvid, 7, b"ab").unwrap();
        let (st, r) = h.join();
        assert_eq!(st, Ok(7));
        let mut want = [0u8; 64];
        want[..2].copy_from_slice(b"ab");
        want[10..14].copy_from_slice(b"WXYZ");
        want[62..].copy_from_slice(b"12");
        assert_eq!(r, want);
        assert_eq!(server.msg_write(rcvid, b"late", 0), Err(Errno::ESRCH));
    });
}

#[test]
fn msg_writev_gathers_into_the_client_reply_parts_at_an_offset() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = server
        .connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    thread::scope(|s| {
        let (h, _) = spawn_scoped(s, &k, p, 10, |t| {
            let (mut r1, mut r2) = ([b'.'; 4], [b'.'; 6]);
            arm(t, SEND_REPLY, Some(LONG));
            let st = t.msg_sendv(coid, &[b"x"], &mut [&mut r1, &mut r2]);
            (st, r1, r2)
        });
        let mut buf = [0u8; 4];
        let mut info = MsgInfo::default();
        let rcvid = receive(&server, chid, &mut buf, Some(&mut info)).unwrap();
        assert_eq!(info.dstmsglen, 10);
        assert_eq!(server.msg_writev(rcvid, &[b"ab", b"cde"], 2), Ok(5));
        server.msg_error(rcvid, Errno::EOK).unwrap();
        let (st, r1, r2) = h.join();
        assert_eq!(st, Ok(0));
        assert_eq!(&r1, b"..ab");
        assert_eq!(&r2, b"cde...");
    });
}

#[test]
fn msg_read_and_write_on_a_pulse_or_unknown_rcvid_are_esrch() {
    let k = kernel();
    let p = k.process_create().unwrap();
    let server = k.thread_attach(p, 10).unwrap();
    let mut buf = [0u8; 8];
    for rcvid in [0, -1, 1, 0x10001, 0x7fff_0001] {
        assert_eq!(server.msg_read(rcvid, &mut buf, 0), Err(Errno::ESRCH));
        assert_eq!(server.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
    }
}
