//! Names (`name_attach`, `name_open`, `name_close`, `name_detach`) as QNX documents them: a
//! server found by name, the `_IO_CONNECT` it answers, the disconnect pulse when its client
//! goes, and every error: a bad name, a name taken, a name not found, a server gone.

mod support;

use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Config, Errno, IoConnect, Kernel, Pulse};

/// Bounds the calling thread's next blocking call.
fn bound() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY | _NTO_TIMEOUT_RECEIVE,
        Some(LONG_NS),
    )
    .unwrap();
}

/// Receives on `chid` (bounded): the rcvid and the bytes.
fn receive(chid: i32) -> (RcvId, Vec<u8>, MsgInfo) {
    let mut buf = [0u8; 128];
    let mut info = MsgInfo::default();
    bound();
    let rcvid = msg_receive(chid, &mut buf, Some(&mut info)).unwrap();
    let n = if rcvid == 0 {
        PULSE_SIZE
    } else {
        info.msglen as usize
    };
    (rcvid, buf[..n].to_vec(), info)
}

/// A server thread on `name`: answers `_IO_CONNECT` with `connect_answer` (EOK: let in),
/// echoes application messages with status 7, and ends at the first disconnect pulse,
/// returning what it saw.
fn serve(
    p: &userlib::Process,
    name: &'static str,
    connect_answer: Errno,
) -> (std::thread::JoinHandle<Vec<String>>, NameAttach) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = p
        .spawn(move || {
            let attach = name_attach(name, 0).unwrap();
            tx.send(attach).unwrap();
            let mut seen = Vec::new();
            loop {
                let (rcvid, bytes, info) = receive(attach.chid);
                if rcvid == 0 {
                    let pulse = Pulse::from_bytes(&bytes).unwrap();
                    seen.push(format!("pulse {}", pulse.code));
                    if pulse.code == _PULSE_CODE_DISCONNECT {
                        connect_detach(pulse.scoid).unwrap();
                        break;
                    }
                    continue;
                }
                let ty = u16::from_ne_bytes([bytes[0], bytes[1]]);
                if ty == _IO_CONNECT {
                    let c = IoConnect::from_bytes(&bytes).unwrap();
                    seen.push(format!(
                        "connect subtype {} ftype {} ioflag {} access {} sflag {:#x} path_len {} len {} pid_ok {} handle_ok {}",
                        c.subtype, c.file_type, c.ioflag, c.access, c.sflag, c.path_len,
                        info.msglen, info.pid > 0, c.handle == attach.mntid as u32
                    ));
                    if connect_answer == Errno::EOK {
                        msg_reply(rcvid, 0, &[]).unwrap();
                    } else {
                        msg_error(rcvid, connect_answer).unwrap();
                    }
                } else if (ty as u32) > _IO_MAX as u32 {
                    seen.push(format!("message {ty:#x}"));
                    msg_reply(rcvid, 7, &bytes).unwrap();
                } else {
                    msg_error(rcvid, Errno::ENOSYS).unwrap();
                }
            }
            name_detach(&attach, 0).unwrap();
            seen
        })
        .unwrap();
    let attach = rx.recv_timeout(DEADLINE).unwrap();
    (h, attach)
}

#[test]
fn a_client_finds_a_server_by_name_and_the_server_sees_connect_messages_and_the_disconnect() {
    let k = kernel();
    let (server_p, client_p) = (process(&k), process(&k));
    let (h, attach) = serve(&server_p, "sensors/temp", Errno::EOK);
    assert!(attach.chid > 0 && attach.mntid > 0);
    let reply = run_in(&client_p, || {
        let coid = name_open("sensors/temp", 0).unwrap();
        assert_ne!(coid as u32 & _NTO_SIDE_CHANNEL, 0, "a side-channel coid");
        let msg = (_IO_MAX + 1).to_ne_bytes();
        let mut r = [0u8; 2];
        bound();
        let status = msg_send(coid, &msg, &mut r).unwrap();
        name_close(coid).unwrap();
        (status, r)
    });
    assert_eq!(reply, (7, (_IO_MAX + 1).to_ne_bytes()));
    let seen = join(h);
    assert_eq!(
        seen,
        vec![
            format!("connect subtype {_IO_CONNECT_OPEN} ftype {_FTYPE_NAME} ioflag 3 access 3 sflag 0x40 path_len 1 len 41 pid_ok true handle_ok true"),
            format!("message {:#x}", _IO_MAX + 1),
            format!("pulse {_PULSE_CODE_DISCONNECT}"),
        ]
    );
    // The server detached its name and its channel: the name is gone.
    assert_eq!(
        run_in(&client_p, || name_open("sensors/temp", 0)),
        Err(Errno::ENOENT)
    );
}

#[test]
fn a_server_that_refuses_the_connect_fails_the_open_and_leaves_the_client_no_coid() {
    let k = kernel();
    let (server_p, client_p) = (process(&k), process(&k));
    let (tx, rx) = std::sync::mpsc::channel();
    let server = server_p
        .spawn(move || {
            let attach = name_attach("locked", 0).unwrap();
            tx.send(()).unwrap();
            let (rcvid, bytes, _) = receive(attach.chid);
            assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), _IO_CONNECT);
            msg_error(rcvid, Errno::EACCES).unwrap();
            // The refused client's connection goes: its disconnect pulse.
            let (rcvid, bytes, _) = receive(attach.chid);
            assert_eq!(rcvid, 0);
            let pulse = Pulse::from_bytes(&bytes).unwrap();
            assert_eq!(pulse.code, _PULSE_CODE_DISCONNECT);
            connect_detach(pulse.scoid).unwrap();
            name_detach(&attach, 0).unwrap();
        })
        .unwrap();
    rx.recv_timeout(DEADLINE).unwrap();
    let conns = || k.listing().pools.connections.live;
    let before = conns();
    assert_eq!(
        run_in(&client_p, || name_open("locked", 0)),
        Err(Errno::EACCES)
    );
    join(server);
    assert_eq!(conns(), before, "no connection left by the refused open");
}

#[test]
fn bad_names_and_flags_get_einval_and_enametoolong() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        for bad in ["", "/abs", "a/../b", "..", "a\0b"] {
            assert_eq!(name_attach(bad, 0), Err(Errno::EINVAL), "{bad:?}");
            assert_eq!(name_open(bad, 0), Err(Errno::EINVAL), "{bad:?}");
        }
        let long = "n".repeat(128);
        assert_eq!(name_attach(&long, 0), Err(Errno::ENAMETOOLONG));
        assert_eq!(name_open(&long, 0), Err(Errno::ENAMETOOLONG));
        let longest = "n".repeat(127);
        let a = name_attach(&longest, 0).unwrap();
        assert_eq!(name_attach("x", 0x4), Err(Errno::EINVAL));
        assert_eq!(name_open(&longest, 1), Err(Errno::EINVAL));
        assert_eq!(name_detach(&a, 0x2), Err(Errno::EINVAL));
        // The name with another channel than its own: EINVAL, and nothing is destroyed.
        let other = channel_create(0).unwrap();
        let wrong = NameAttach {
            chid: other,
            mntid: a.mntid,
        };
        assert_eq!(name_detach(&wrong, 0), Err(Errno::EINVAL));
        channel_destroy(other).unwrap();
        // ".." inside a component is a name like any other; "a/b" has components.
        let b = name_attach("a..b/c", 0).unwrap();
        name_detach(&b, 0).unwrap();
        name_detach(&a, 0).unwrap();
        // Failed attaches left no channel behind.
        assert_eq!(channel_destroy(a.chid), Err(Errno::EINVAL));
    });
}

#[test]
fn a_name_is_taken_once_per_space_and_name_open_looks_local_first() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    let local = run_in(&p, || name_attach("svc", 0).unwrap());
    assert_eq!(run_in(&q, || name_attach("svc", 0)), Err(Errno::EEXIST));
    let global = run_in(&q, || name_attach("svc", NAME_FLAG_ATTACH_GLOBAL).unwrap());
    // The listing (pidin-sim's) shows each channel's names.
    let listing = k.snapshot().to_string();
    assert!(listing.contains("  names: svc\n"), "{listing}");
    assert!(listing.contains("  names: svc (global)\n"), "{listing}");
    assert_eq!(
        run_in(&p, || name_attach("svc", NAME_FLAG_ATTACH_GLOBAL)),
        Err(Errno::EEXIST)
    );
    // name_open finds the local one: its server (p) gets the _IO_CONNECT. Answer it from p.
    let server = p
        .spawn(move || {
            let (rcvid, bytes, _) = receive(local.chid);
            assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), _IO_CONNECT);
            msg_reply(rcvid, 0, &[]).unwrap();
        })
        .unwrap();
    let coid = run_in(&q, || name_open("svc", 0).unwrap());
    join(server);
    run_in(&q, move || name_close(coid).unwrap());
    // With the local name gone, the global one is found.
    run_in(&p, move || name_detach(&local, 0).unwrap());
    let server = q
        .spawn(move || {
            let (rcvid, _, _) = receive(global.chid);
            msg_reply(rcvid, 0, &[]).unwrap();
        })
        .unwrap();
    let coid = run_in(&p, || name_open("svc", 0).unwrap());
    join(server);
    run_in(&p, move || name_close(coid).unwrap());
    run_in(&q, move || name_detach(&global, 0).unwrap());
    assert_eq!(run_in(&p, || name_open("svc", 0)), Err(Errno::ENOENT));
}

#[test]
fn detach_keeps_the_channel_only_with_savedpp_and_names_go_with_their_channel_or_process() {
    let k = kernel();
    let (p, q) = (process(&k), process(&k));
    run_in(&p, || {
        let a = name_attach("kept", 0).unwrap();
        name_detach(&a, NAME_FLAG_DETACH_SAVEDPP).unwrap();
        assert_eq!(name_open("kept", 0), Err(Errno::ENOENT));
        // The channel is still there; detaching twice is EINVAL.
        assert_eq!(name_detach(&a, 0), Err(Errno::EINVAL));
        channel_destroy(a.chid).unwrap();
        // A channel destroyed under its name takes the name with it.
        let b = name_attach("dropped", 0).unwrap();
        channel_destroy(b.chid).unwrap();
        assert_eq!(name_open("dropped", 0), Err(Errno::ENOENT));
        assert_eq!(name_detach(&b, 0), Err(Errno::EINVAL));
    });
    // Another process cannot detach a name it does not own.
    let a = run_in(&p, || name_attach("mine", 0).unwrap());
    assert_eq!(run_in(&q, move || name_detach(&a, 0)), Err(Errno::EINVAL));
    // A process that ends takes its names with it.
    let before = k.listing().pools.names.live;
    assert_eq!(before, 1);
    p.exit();
    assert_eq!(run_in(&q, || name_open("mine", 0)), Err(Errno::ENOENT));
    assert_eq!(k.listing().pools.names.live, 0);
}

#[test]
fn names_run_out_with_eagain_and_come_back() {
    let k = Kernel::new(Config {
        max_names: 2,
        ..Config::default()
    })
    .unwrap();
    let p = process(&k);
    run_in(&p, || {
        let a = name_attach("one", 0).unwrap();
        let b = name_attach("two", 0).unwrap();
        assert_eq!(name_attach("three", 0), Err(Errno::EAGAIN));
        name_detach(&a, 0).unwrap();
        let c = name_attach("three", 0).unwrap();
        assert_ne!(c.mntid, a.mntid, "a new name gets a new id");
        assert_eq!(
            name_detach(&a, 0),
            Err(Errno::EINVAL),
            "a stale id names nothing"
        );
        name_detach(&b, 0).unwrap();
        name_detach(&c, 0).unwrap();
    });
}
