//! ConnectAttach and ConnectDetach.

use super::{Bench, Buf, Entry, Live};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::calls::{connect, Caller, Step};
use crate::objects::thread::CallResult;
use crate::objects::{CoidSlot, KState};

fn attach(
    b: &Bench,
    c: Caller,
    pid: i32,
    chid: i32,
    index: u32,
    flags: u32,
) -> Result<Step, Errno> {
    b.run(|t, _| connect::connect_attach(t, c, ND_LOCAL_NODE, pid, chid, index, flags))
        .0
}

fn detach(b: &Bench, c: Caller, coid: i32) -> (Result<Step, Errno>, crate::calls::Effects) {
    b.run(|t, fx| connect::connect_detach(t, c, coid, fx))
}

#[test]
fn connect_attach_takes_the_lowest_free_coid_and_a_scoid_in_the_server() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let pid = b.pid(server);
    assert_eq!(attach(&b, client, pid, chid, 0, 0), Ok(Step::Done(0)));
    assert_eq!(
        attach(&b, client, pid, chid, 3, 0),
        Ok(Step::Done(3)),
        "lowest free at or above index"
    );
    assert_eq!(attach(&b, client, pid, chid, 0, 0), Ok(Step::Done(1)));
    let side = _NTO_SIDE_CHANNEL as i32;
    assert_eq!(
        attach(&b, client, pid, chid, _NTO_SIDE_CHANNEL, 0),
        Ok(Step::Done((side | 1) as i64))
    );
    // pid 0 is the caller's own process; the scoid comes from the same side table as its coids.
    let own = b.channel(client, 0);
    assert_eq!(
        attach(&b, client, 0, own, _NTO_SIDE_CHANNEL, 0),
        Ok(Step::Done((side | 2) as i64))
    );
    assert_eq!(b.scoid(client, side | 2), side | 3);

    let conn = b.conn(client, 0);
    let scoid = b.scoid(client, 0);
    assert_eq!(scoid, side | 1);
    b.tables(|t| {
        let c = t.conns.at(conn.index);
        assert_eq!(
            (c.client, c.server, c.chid, c.links),
            (client.proc, server.proc, chid, 4)
        );
        assert_eq!(
            t.coid_slot(server.proc, scoid).copied(),
            Some(CoidSlot::Scoid(conn))
        );
    });
}

#[test]
fn attaches_to_one_channel_share_a_connection_unless_noshare() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let before = b.live().conns;
    let a = b.attach(client, server, chid);
    let c = b.attach(client, server, chid);
    assert_ne!(a, c);
    assert_eq!(b.conn(client, a), b.conn(client, c));
    assert_eq!(
        b.scoid(client, a),
        b.scoid(client, c),
        "the server sees one scoid"
    );
    assert_eq!(b.live().conns, before + 1);
    let n = b.attach_flags(client, server, chid, _NTO_COF_NOSHARE);
    assert_ne!(b.conn(client, n), b.conn(client, a));
    assert_eq!(b.live().conns, before + 2);
    // A NOSHARE connection is not shared by later attaches either.
    let d = b.attach(client, server, chid);
    assert_eq!(b.conn(client, d), b.conn(client, a));
}

#[test]
fn connect_attach_refuses_bad_arguments_with_their_errnos() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let private = b.channel(server, _NTO_CHF_PRIVATE);
    let pid = b.pid(server);
    let live = b.live();
    let r = |nd, pid, chid, index, flags| {
        b.run(|t, _| connect::connect_attach(t, client, nd, pid, chid, index, flags))
            .0
    };
    assert_eq!(r(1, pid, chid, 0, 0), Err(Errno::ENOREMOTE));
    assert_eq!(
        r(0, pid, chid, 0, _NTO_COF_NONBLOCK),
        Err(Errno::EINVAL),
        "asyncmsg only"
    );
    assert_eq!(r(0, pid, chid, 0, 0x8000), Err(Errno::EINVAL));
    assert_eq!(
        r(0, pid, chid, 8, 0),
        Err(Errno::EINVAL),
        "index past the fd table"
    );
    assert_eq!(r(0, 9999, chid, 0, 0), Err(Errno::ESRCH));
    assert_eq!(r(0, pid, 3, 0, 0), Err(Errno::ESRCH));
    assert_eq!(r(0, pid, 0, 0, 0), Err(Errno::ESRCH));
    assert_eq!(r(0, pid, private, 0, 0), Err(Errno::EPERM));
    assert_eq!(b.live(), live, "a refused attach allocates nothing");
    // The owner may attach to its private channel.
    assert!(b
        .run(|t, _| connect::connect_attach(t, server, 0, 0, private, 0, 0))
        .0
        .is_ok());
}

#[test]
fn connect_attach_is_emfile_when_the_fd_coids_run_out() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let pid = b.pid(server);
    for coid in 0..8 {
        assert_eq!(attach(&b, client, pid, chid, 0, 0), Ok(Step::Done(coid)));
    }
    assert_eq!(attach(&b, client, pid, chid, 0, 0), Err(Errno::EMFILE));
    let conn = b.conn(client, 0);
    assert_eq!(b.tables(|t| t.conns.at(conn.index).links), 8);
}

#[test]
fn connect_detach_of_an_unknown_coid_or_a_linked_scoid_is_einval() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let scoid = b.scoid(client, coid);
    for bad in [-1, 5, 1000, _NTO_SIDE_CHANNEL as i32 | 6] {
        assert_eq!(
            detach(&b, client, bad).0,
            Err(Errno::EINVAL),
            "coid {bad:#x}"
        );
    }
    assert_eq!(
        detach(&b, server, scoid).0,
        Err(Errno::EINVAL),
        "its client is still connected"
    );
    assert_eq!(detach(&b, client, coid).0, Ok(Step::Done(0)));
    assert_eq!(detach(&b, client, coid).0, Err(Errno::EINVAL), "twice");
}

#[test]
fn last_detach_frees_the_connection_and_its_scoid() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let before = b.live();
    let a = b.attach(client, server, chid);
    let c = b.attach(client, server, chid);
    let (conn, scoid) = (b.conn(client, a), b.scoid(client, a));
    assert_eq!(detach(&b, client, a).0, Ok(Step::Done(0)));
    assert_eq!(
        b.tables(|t| t.conns.at(conn.index).links),
        1,
        "one link left"
    );
    let (r, fx) = detach(&b, client, c);
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty());
    assert_eq!(b.live(), before);
    assert_eq!(
        b.tables(|t| t.coid_slot(server.proc, scoid).copied()),
        Some(CoidSlot::Free)
    );
}

#[test]
fn last_detach_on_a_disconnect_channel_queues_a_boosted_disconnect_and_keeps_the_scoid() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(7);
    let chid = b.channel(server, _NTO_CHF_DISCONNECT);
    let ch = b.chan(server, chid);
    let own = b.attach(server, server, chid);
    assert_eq!(b.pulse(server, own, 200, 1, 0).0, Ok(Step::Done(0)));
    let coid = b.attach(client, server, chid);
    let (conn, scoid) = (b.conn(client, coid), b.scoid(client, coid));
    let Live { conns, .. } = b.live();

    assert_eq!(detach(&b, client, coid).0, Ok(Step::Done(0)));
    // Ahead of the priority-200 pulse, at the detaching thread's priority.
    assert_eq!(
        b.sendq(ch),
        [
            Entry::Pulse {
                code: _PULSE_CODE_DISCONNECT,
                value: 0,
                prio: 7
            },
            Entry::Pulse {
                code: 1,
                value: 0,
                prio: 200
            },
        ]
    );
    assert_eq!(b.live().conns, conns, "the connection stays for the server");
    let rbuf = Buf::zeroed(32);
    assert_eq!(b.receive(server, chid, rbuf, 0).0, Ok(Step::Done(0)));
    assert_eq!(rbuf.pulse().scoid, scoid);
    assert_eq!(b.tables(|t| t.conns.at(conn.index).links), 0);

    // The server's ConnectDetach(scoid) frees it.
    assert_eq!(detach(&b, server, scoid).0, Ok(Step::Done(0)));
    assert_eq!(b.live().conns, conns - 1);
    assert_eq!(
        b.tables(|t| t.coid_slot(server.proc, scoid).copied()),
        Some(CoidSlot::Free)
    );
}

#[test]
fn detach_releases_sibling_threads_send_blocked_on_the_coid_with_ebadf() {
    let b = Bench::new();
    let server = b.spawn(10);
    let (cp, _) = b.process();
    let detacher = b.thread(cp, 10);
    let sender = b.thread(cp, 10);
    let replied = b.thread(cp, 10);
    let chid = b.channel(server, 0);
    let ch = b.chan(server, chid);
    let coid = b.attach(detacher, server, chid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, replied, coid, Buf::new(b"r"), reply);
    assert_eq!(
        b.send(sender, coid, Buf::new(b"s"), reply).0,
        Ok(Step::Block)
    );
    assert_eq!(b.queued(ch), 1);

    let (r, fx) = detach(&b, detacher, coid);
    assert_eq!(r, Ok(Step::Done(0)));
    let mut woken = fx.wake.to_vec();
    woken.sort_unstable();
    assert_eq!(woken, [sender.thread.index, replied.thread.index]);
    assert_eq!(b.result(sender), CallResult::Err(Errno::EBADF.0));
    assert_eq!(b.result(replied), CallResult::Err(Errno::EBADF.0));
    assert_eq!(b.queued(ch), 0);
    assert_eq!(b.reply(server, rcvid, 0, Buf::empty()).0, Err(Errno::ESRCH));
}

#[test]
fn detach_leaves_a_sibling_held_on_an_unblock_channel_until_the_server_answers() {
    let b = Bench::new();
    let server = b.spawn(10);
    let (cp, _) = b.process();
    let detacher = b.thread(cp, 10);
    let held = b.thread(cp, 12);
    let chid = b.channel(server, _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT);
    let ch = b.chan(server, chid);
    let coid = b.attach(detacher, server, chid);
    let conn = b.conn(detacher, coid);
    let reply = Buf::zeroed(4);
    let rcvid = b.exchange(server, chid, held, coid, Buf::new(b"h"), reply);

    let (r, fx) = detach(&b, detacher, coid);
    assert_eq!(r, Ok(Step::Done(0)));
    assert!(fx.wake.is_empty(), "the held client stays");
    assert!(matches!(b.state(held), KState::Reply { .. }));
    // The server is asked to unblock it; the connection lives on (no disconnect yet).
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_UNBLOCK,
            value: rcvid as u64,
            prio: 12
        }]
    );
    assert_eq!(
        b.tables(|t| t.conns.at(conn.index).links),
        1,
        "held by the exchange"
    );

    // The answer stands for the server, the client leaves with EBADF, and only now does the
    // connection end (the disconnect pulse comes after the answer).
    let (r, fx) = b.reply(server, rcvid, 5, Buf::new(b"data"));
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[held.thread.index]);
    assert_eq!(b.result(held), CallResult::Err(Errno::EBADF.0));
    assert_eq!(reply.bytes(), [0; 4], "no data for a detached client");
    assert_eq!(
        b.sendq(ch),
        [Entry::Pulse {
            code: _PULSE_CODE_DISCONNECT,
            value: 0,
            prio: 12
        }],
        "the unblock pulse is gone, the disconnect queued"
    );
}

fn flags(b: &Bench, c: Caller, pid: i32, coid: i32, mask: u32, bits: u32) -> Result<Step, Errno> {
    b.run(|t, _| connect::connect_flags(t, c, pid, coid, mask, bits))
        .0
}

#[test]
fn connect_flags_sets_and_clears_cloexec_and_returns_the_flags_as_they_were() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let cpid = b.pid(client);
    assert_eq!(
        flags(&b, client, 0, coid, 0, 0),
        Ok(Step::Done(0)),
        "a query"
    );
    let set = _NTO_COF_CLOEXEC;
    assert_eq!(flags(&b, client, 0, coid, set, set), Ok(Step::Done(0)));
    assert_eq!(
        flags(&b, client, 0, coid, 0, 0),
        Ok(Step::Done(1)),
        "set, and bits outside the mask change nothing"
    );
    // Another process may name the connection by the client's pid.
    assert_eq!(flags(&b, server, cpid, coid, set, 0), Ok(Step::Done(1)));
    assert_eq!(flags(&b, client, 0, coid, set, set), Ok(Step::Done(0)));
    // The flags belong to the connection: a second coid sharing it sees them.
    let shared = b.attach(client, server, chid);
    assert_eq!(b.conn(client, shared), b.conn(client, coid));
    assert_eq!(flags(&b, client, 0, shared, set, 0), Ok(Step::Done(1)));
    assert_eq!(flags(&b, client, 0, coid, 0, 0), Ok(Step::Done(0)));
    // ConnectServerInfo reports what ConnectFlags set.
    assert_eq!(flags(&b, client, 0, coid, set, set), Ok(Step::Done(0)));
    let mut info = crate::abi::types::MsgInfo::default();
    let at = &mut info as *mut _ as u64;
    b.run(|t, _| connect::connect_server_info(t, client, 0, coid, at))
        .0
        .unwrap();
    assert_eq!(info.flags as u32 & _NTO_COF_CLOEXEC, _NTO_COF_CLOEXEC);
}

#[test]
fn connect_flags_refuses_bad_arguments_with_their_errnos() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(10);
    let chid = b.channel(server, 0);
    let coid = b.attach(client, server, chid);
    let scoid = b.scoid(client, coid);
    let set = _NTO_COF_CLOEXEC;
    assert_eq!(flags(&b, client, 9999, coid, set, set), Err(Errno::ESRCH));
    assert_eq!(flags(&b, client, 0, 5, set, set), Err(Errno::EBADF));
    assert_eq!(flags(&b, client, 0, -1, 0, 0), Err(Errno::EBADF));
    assert_eq!(
        flags(&b, server, 0, scoid, 0, 0),
        Err(Errno::EBADF),
        "a scoid is not a client connection"
    );
    for other in [_NTO_COF_DEAD, _NTO_COF_NOSHARE, _NTO_COF_NONBLOCK, 0x8000] {
        assert_eq!(
            flags(&b, client, 0, coid, other | set, set),
            Err(Errno::ENOTSUP),
            "mask {other:#x}"
        );
    }
    assert_eq!(
        flags(&b, client, 0, coid, 0, 0),
        Ok(Step::Done(0)),
        "a refused call changed nothing"
    );
    // Detached: gone.
    detach(&b, client, coid).0.unwrap();
    assert_eq!(flags(&b, client, 0, coid, 0, 0), Err(Errno::EBADF));
}
