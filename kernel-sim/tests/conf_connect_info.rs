//! ConnectClientInfo / ConnectServerInfo conformance (QNX: the client process behind a
//! server's scoid; a process's connections walked from a coid on).
//!
//! The kernel's half of ConnectClientInfo names the client process (its pid, and the Linux
//! process its memory is in: in a kernel of one Linux process, this one); the credentials are
//! the library's (userlib's `connect_client_info`).

mod support;

use support::*;

/// This Linux process's pid: every simulated process of a kernel of one program lives in it.
fn me() -> i32 {
    std::process::id() as i32
}

/// The scoid the server sees `coid`'s pulses arrive through.
fn scoid_via_pulse(client: &ThreadCtx, coid: i32, server: &ThreadCtx, chid: i32) -> i32 {
    client.msg_send_pulse(coid, 10, 1, coid).unwrap();
    let p = receive_pulse(server, chid);
    assert_eq!(p.value_int(), coid);
    p.scoid
}

#[test]
fn client_info_names_the_client_of_a_received_message() {
    let w = world(0);
    let c = w.client_sending::<4>(10, b"ping");
    let (rcvid, info) = w.take();
    assert_eq!(info.pid, w.cli.pid);
    assert_ne!(info.scoid as u32 & _NTO_SIDE_CHANNEL, 0);
    // While the client is REPLY-blocked, and after.
    assert_eq!(
        w.server.connect_client_info(info.scoid),
        Ok((w.cli.pid, me()))
    );
    w.server.msg_reply(rcvid, 0, b"pong").unwrap();
    assert_eq!(c.join(), (Ok(0), *b"pong"));
    // The connection of the process's own coid (the thread's shared it, and detached).
    assert_eq!(
        w.server.connect_client_info(info.scoid),
        Ok((w.cli.pid, me()))
    );
    w.detach_and_finish();
}

#[test]
fn client_info_through_a_pulses_scoid_and_of_the_caller_itself() {
    let w = world(0);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    assert_eq!(w.server.connect_client_info(scoid), Ok((w.cli.pid, me())));
    // -1: the caller's own process (QNX's kernel does the same).
    assert_eq!(w.server.connect_client_info(-1), Ok((w.srv.pid, me())));
    assert_eq!(w.client.connect_client_info(-1), Ok((w.cli.pid, me())));
    w.detach_and_finish();
}

#[test]
fn client_info_of_what_is_no_scoid_of_the_callers_is_einval() {
    let w = world(0);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    // A fd-space coid of the server's own to its channel, and its scoid.
    let own = w.server.connect_attach(0, 0, w.chid, 0, 0).unwrap();
    let own_scoid = scoid_via_pulse(&w.server, own, &w.server, w.chid);
    // And a side-channel coid of the server's own (not shared: a connection of its own).
    let own_side = w
        .server
        .connect_attach(0, 0, w.chid, _NTO_SIDE_CHANNEL, _NTO_COF_NOSHARE)
        .unwrap();
    assert_ne!(own_side as u32 & _NTO_SIDE_CHANNEL, 0);
    assert_eq!(
        w.server.connect_client_info(own_scoid),
        Ok((w.srv.pid, me()))
    );
    for bad in [
        0,
        own,                                 // a coid, not a scoid
        own_side,                            // a side-channel coid, not a scoid
        scoid & !(_NTO_SIDE_CHANNEL as i32), // the scoid without its side-channel bit
        (_NTO_SIDE_CHANNEL | 0x3fff) as i32, // beyond the side-channel table
        _NTO_SIDE_CHANNEL as i32,            // side slot 0 (the process manager's)
        -2,
        i32::MIN,
    ] {
        assert_eq!(
            w.server.connect_client_info(bad),
            Err(Errno::EINVAL),
            "scoid {bad:#x}"
        );
    }
    // The server's scoid is no scoid of the client's.
    assert_eq!(w.client.connect_client_info(scoid), Err(Errno::EINVAL));
    w.server.connect_detach(own_side).unwrap();
    w.server.connect_detach(own).unwrap();
    w.detach_and_finish();
}

#[test]
fn after_the_clients_detach_the_scoid_is_gone_without_disconnect_notification() {
    let w = world(0);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    w.client.connect_detach(w.coid).unwrap();
    assert_eq!(w.server.connect_client_info(scoid), Err(Errno::EINVAL));
    w.finish();
}

#[test]
fn a_held_scoid_names_its_client_until_it_dies_then_esrch_then_einval_once_detached() {
    let w = world(_NTO_CHF_DISCONNECT);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    w.client.connect_detach(w.coid).unwrap();
    let p = receive_pulse(&w.server, w.chid);
    assert_eq!((p.code, p.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    // The server still holds the scoid: the client process is still there.
    assert_eq!(w.server.connect_client_info(scoid), Ok((w.cli.pid, me())));
    let World {
        k,
        start,
        srv,
        cli,
        server,
        client,
        ..
    } = w;
    drop(client);
    k.process_destroy(cli).unwrap();
    assert_eq!(server.connect_client_info(scoid), Err(Errno::ESRCH));
    server.connect_detach(scoid).unwrap();
    assert_eq!(server.connect_client_info(scoid), Err(Errno::EINVAL));
    drop(server);
    teardown(&k, &[srv], start);
}

#[test]
fn a_client_that_dies_connected_leaves_a_held_scoid_that_gives_esrch() {
    let w = world(_NTO_CHF_DISCONNECT);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    let World {
        k,
        start,
        srv,
        cli,
        server,
        client,
        chid,
        ..
    } = w;
    drop(client);
    k.process_destroy(cli).unwrap();
    let p = receive_pulse(&server, chid);
    assert_eq!((p.code, p.scoid), (_PULSE_CODE_DISCONNECT, scoid));
    assert_eq!(server.connect_client_info(scoid), Err(Errno::ESRCH));
    server.connect_detach(scoid).unwrap();
    drop(server);
    teardown(&k, &[srv], start);
}

#[test]
fn a_destroyed_channels_scoids_are_einval() {
    let w = world(0);
    let scoid = scoid_via_pulse(&w.client, w.coid, &w.server, w.chid);
    w.server.channel_destroy(w.chid).unwrap();
    assert_eq!(w.server.connect_client_info(scoid), Err(Errno::EINVAL));
    w.detach_and_finish();
}

// ------------------------------------------------------------------ ConnectServerInfo

/// Every connection of process `pid` (0: the caller's) by ConnectServerInfo, from coid 0 on.
fn walk(t: &ThreadCtx, pid: i32) -> Vec<(i32, MsgInfo)> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        match t.connect_server_info(pid, next) {
            Ok((coid, info)) => {
                assert!(coid >= next, "coid {coid:#x} before {next:#x}");
                assert_eq!(info.coid, coid);
                out.push((coid, info));
                next = coid + 1;
            }
            Err(e) => {
                assert_eq!(e, Errno::EINVAL);
                return out;
            }
        }
        assert!(out.len() < 10_000, "the walk never ends");
    }
}

#[test]
fn server_info_walks_fd_coids_then_side_coids_and_skips_scoids() {
    let w = world(0);
    // The client: its side coid (w.coid, _NTO_SIDE_CHANNEL | 1), fd coids 0 and 3 (not shared:
    // each its own connection), a second side coid with CLOEXEC.
    let a = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, 0, _NTO_COF_NOSHARE)
        .unwrap();
    let b = w
        .client
        .connect_attach(0, w.srv.pid, w.chid, 3, _NTO_COF_NOSHARE)
        .unwrap();
    let s2 = w
        .client
        .connect_attach(
            0,
            w.srv.pid,
            w.chid,
            _NTO_SIDE_CHANNEL,
            _NTO_COF_NOSHARE | _NTO_COF_CLOEXEC,
        )
        .unwrap();
    assert_eq!((a, b, w.coid), (0, 3, 0x4000_0001));
    assert_eq!(s2, 0x4000_0002);
    // The client also serves: a channel of its own that the server connects to, so the
    // client's side-channel table holds a scoid (_NTO_SIDE_CHANNEL | 3), which is skipped.
    let cchid = w.client.channel_create(0).unwrap();
    let back = w
        .server
        .connect_attach(0, w.cli.pid, cchid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let back_scoid = scoid_via_pulse(&w.server, back, &w.client, cchid);
    assert_eq!(back_scoid, 0x4000_0003);

    let got = walk(&w.client, 0);
    let coids: Vec<i32> = got.iter().map(|(c, _)| *c).collect();
    assert_eq!(coids, vec![a, b, w.coid, s2]);
    for (coid, info) in &got {
        assert_eq!(info.pid, w.srv.pid, "coid {coid:#x}");
        assert_eq!(info.chid, w.chid);
        assert_eq!(info.nd, 0);
        assert_eq!(
            info.scoid,
            scoid_via_pulse(&w.client, *coid, &w.server, w.chid),
            "coid {coid:#x}: the scoid the server sees"
        );
        let want_flags = if *coid == s2 { _NTO_COF_CLOEXEC } else { 0 };
        assert_eq!(info.flags as u32, want_flags, "coid {coid:#x}");
        assert_eq!(
            (info.srcnd, info.tid, info.msglen, info.priority),
            (0, 0, 0, 0)
        );
    }
    // From a coid between them: the next one; from a side coid: that or the next side one.
    assert_eq!(w.client.connect_server_info(0, 1).map(|r| r.0), Ok(b));
    assert_eq!(w.client.connect_server_info(0, 4).map(|r| r.0), Ok(w.coid));
    assert_eq!(
        w.client
            .connect_server_info(0, _NTO_SIDE_CHANNEL as i32)
            .map(|r| r.0),
        Ok(w.coid)
    );
    assert_eq!(w.client.connect_server_info(0, s2).map(|r| r.0), Ok(s2));
    assert_eq!(
        w.client.connect_server_info(0, s2 + 1).map(|r| r.0),
        Err(Errno::EINVAL)
    );

    // The server's connections: just `back`, to the client's channel.
    let srv = walk(&w.server, 0);
    assert_eq!(srv.len(), 1);
    assert_eq!(srv[0].0, back);
    assert_eq!(
        (srv[0].1.pid, srv[0].1.chid, srv[0].1.scoid),
        (w.cli.pid, cchid, back_scoid)
    );

    w.server.connect_detach(back).unwrap();
    for coid in [a, b, s2] {
        w.client.connect_detach(coid).unwrap();
    }
    w.client.channel_destroy(cchid).unwrap();
    w.detach_and_finish();
}

#[test]
fn server_info_of_another_process_is_what_that_process_sees() {
    let w = world(0);
    let a = w.client.connect_attach(0, w.srv.pid, w.chid, 2, 0).unwrap();
    let own = walk(&w.client, 0);
    let by_pid = walk(&w.server, w.cli.pid);
    assert_eq!(own, by_pid);
    assert_eq!(
        own.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        vec![a, w.coid]
    );
    // The caller's own pid is the same as 0.
    assert_eq!(walk(&w.client, w.cli.pid), own);
    w.client.connect_detach(a).unwrap();
    w.detach_and_finish();
}

#[test]
fn server_info_errors() {
    let w = world(0);
    // No such process.
    assert_eq!(
        w.client.connect_server_info(0x7fff_0000, 0),
        Err(Errno::ESRCH)
    );
    assert_eq!(w.client.connect_server_info(-5, 0), Err(Errno::ESRCH));
    // A negative coid, and none at or after it.
    assert_eq!(w.client.connect_server_info(0, -1), Err(Errno::EINVAL));
    assert_eq!(
        w.client.connect_server_info(0, i32::MIN),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.client
            .connect_server_info(0, (_NTO_SIDE_CHANNEL | 2) as i32),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        w.client
            .connect_server_info(0, (_NTO_SIDE_CHANNEL | 0x3fff_ffff) as i32),
        Err(Errno::EINVAL)
    );
    // A process with no connection at all.
    let lone = w.k.process_create().unwrap();
    let t = w.k.thread_attach(lone, 10).unwrap();
    assert_eq!(t.connect_server_info(0, 0), Err(Errno::EINVAL));
    assert_eq!(
        w.server.connect_server_info(lone.pid, 0),
        Err(Errno::EINVAL)
    );
    drop(t);
    w.k.process_destroy(lone).unwrap();
    // Once it is gone: ESRCH.
    assert_eq!(w.server.connect_server_info(lone.pid, 0), Err(Errno::ESRCH));
    w.detach_and_finish();
}

#[test]
fn server_info_of_a_connection_whose_channel_is_gone_says_dead() {
    let w = world(0);
    let before = w.client.connect_server_info(0, 0).unwrap();
    assert_eq!(before.0, w.coid);
    assert_eq!(before.1.flags as u32 & _NTO_COF_DEAD, 0);
    assert_ne!(before.1.scoid, 0);
    w.server.channel_destroy(w.chid).unwrap();
    let (coid, info) = w.client.connect_server_info(0, 0).unwrap();
    assert_eq!(coid, w.coid);
    assert_eq!(info.flags as u32 & _NTO_COF_DEAD, _NTO_COF_DEAD);
    assert_eq!((info.pid, info.chid, info.scoid), (w.srv.pid, w.chid, 0));
    // The server process ending does the same to the client's connections.
    w.client.connect_detach(w.coid).unwrap();
    let chid = w.server.channel_create(0).unwrap();
    let c = w
        .client
        .connect_attach(0, w.srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let World {
        k,
        start,
        srv,
        cli,
        server,
        client,
        ..
    } = w;
    drop(server);
    k.process_destroy(srv).unwrap();
    let (coid, info) = client.connect_server_info(0, 0).unwrap();
    assert_eq!((coid, info.pid, info.chid), (c, srv.pid, chid));
    assert_eq!(info.flags as u32 & _NTO_COF_DEAD, _NTO_COF_DEAD);
    client.connect_detach(c).unwrap();
    drop(client);
    teardown(&k, &[cli], start);
}
