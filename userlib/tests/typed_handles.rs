//! The typed handles: what their methods do and what `Drop` cleans up.

mod support;

use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::{Channel, Connection, Errno, Process, Received, ThreadState};

#[test]
fn dropped_receive_id_answers_the_client_with_enosys() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            Connection::attach(0, chid)
                .unwrap()
                .send_timeout(b"x", &mut [0u8; 4], LONG)
        })
        .unwrap();
    let mut buf = [0u8; 16];
    match chan.receive_timeout(&mut buf, LONG).unwrap() {
        Received::Message { rcvid, .. } => drop(rcvid),
        Received::Pulse(p) => panic!("unexpected pulse {p:?}"),
    }
    assert_eq!(join(client), Err(Errno::ENOSYS));
}

#[test]
fn receive_id_is_answered_from_another_thread_of_the_server_process() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            let mut r = [0u8; 5];
            let st = Connection::attach(0, chid)
                .unwrap()
                .send_timeout(b"defer", &mut r, LONG)
                .unwrap();
            (st, r)
        })
        .unwrap();
    let mut buf = [0u8; 16];
    let Received::Message { rcvid, info } = chan.receive_timeout(&mut buf, LONG).unwrap() else {
        panic!("expected a message")
    };
    assert_eq!(info.msglen, 5);
    assert_eq!(rcvid.info().unwrap().srcmsglen, 5);
    let mut head = [0u8; 3];
    assert_eq!(rcvid.read(&mut head, 2).unwrap(), 3);
    assert_eq!(&head, b"fer");
    assert_eq!(rcvid.write(b"LA", 3).unwrap(), 2);
    // Deferred reply: a worker thread of the same process answers.
    join(p.spawn(move || rcvid.reply(9, b"LAT")).unwrap()).unwrap();
    let (st, r) = join(client);
    assert_eq!(st, 9);
    assert_eq!(&r, b"LATLA");
}

#[test]
fn dropped_channel_releases_its_send_blocked_client_with_esrch() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            let c = Connection::attach(0, chid).unwrap();
            let r = c.send_timeout(b"x", &mut [], LONG);
            (r, c.send(b"again", &mut []))
        })
        .unwrap();
    wait_state(&k, p.pid(), 2, |s| matches!(s, ThreadState::Send { .. }));
    drop(chan);
    let (first, again) = join(client);
    assert_eq!(first, Err(Errno::ESRCH));
    assert_eq!(again, Err(Errno::EBADF));
    assert_eq!(k.pool_usage().channels.live, 0);
}

#[test]
fn dropped_connection_detaches_and_frees_its_connection() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let before = k.pool_usage().connections.live;
    let c = Connection::attach(0, chan.chid()).unwrap();
    let coid = c.coid();
    assert_eq!(coid as u32 & _NTO_SIDE_CHANNEL, _NTO_SIDE_CHANNEL);
    assert_eq!(k.pool_usage().connections.live, before + 1);
    drop(c);
    assert_eq!(k.pool_usage().connections.live, before);
    assert_eq!(
        userlib::qnx::msg_send_pulse(coid, -1, 1, 0),
        Err(Errno::EBADF)
    );
}

#[test]
fn handles_refuse_threads_of_another_process() {
    let k = kernel();
    let a = Process::new_in(&k).unwrap();
    let b = Process::new_in(&k).unwrap();
    a.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    let (chan, conn) = (std::sync::Arc::new(chan), std::sync::Arc::new(conn));
    let (c2, k2) = (chan.clone(), conn.clone());
    let r = join(
        b.spawn(move || {
            (
                c2.receive(&mut [0u8; 32]).err(),
                k2.send(b"x", &mut []).err(),
            )
        })
        .unwrap(),
    );
    assert_eq!(r, (Some(Errno::ESRCH), Some(Errno::EBADF)));
    // Still usable from its own process.
    conn.send_pulse(-1, 5, 55).unwrap();
    let Received::Pulse(p) = chan.receive_timeout(&mut [0u8; 32], LONG).unwrap() else {
        panic!("expected the pulse")
    };
    assert_eq!((p.code, p.value_int()), (5, 55));
}

#[test]
fn channel_dropped_by_another_process_thread_is_destroyed_in_its_own_process() {
    let k = kernel();
    let a = Process::new_in(&k).unwrap();
    let b = Process::new_in(&k).unwrap();
    a.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    assert_eq!(k.pool_usage().channels.live, 1);
    join(b.spawn(move || drop(chan)).unwrap());
    assert_eq!(k.pool_usage().channels.live, 0);
    // The creating process's chid 1 is free again: the next channel gets it.
    assert_eq!(Channel::create(0).unwrap().chid(), 1);
}

#[test]
fn receive_timeout_and_send_timeout_end_with_etimedout() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        chan.receive_timeout(&mut [0u8; 32], Duration::from_millis(20))
            .err(),
        Some(Errno::ETIMEDOUT)
    );
    assert!(t0.elapsed() >= Duration::from_millis(19));
    // Nobody receives: the send times out SEND-blocked.
    let conn = Connection::attach(0, chan.chid()).unwrap();
    assert_eq!(
        conn.send_timeout(b"x", &mut [], Duration::from_millis(20)),
        Err(Errno::ETIMEDOUT)
    );
    assert_eq!(k.snapshot().channels[0].queued, 0);
}

#[test]
fn dropping_a_process_releases_clients_blocked_on_its_channels_with_esrch() {
    let k = kernel();
    let server = Process::new_in(&k).unwrap();
    let client = Process::new_in(&k).unwrap();
    let chid = join(
        server
            .spawn(|| {
                let c = Channel::create(0).unwrap();
                let chid = c.chid();
                std::mem::forget(c); // the process's teardown must destroy it
                chid
            })
            .unwrap(),
    );
    let spid = server.pid();
    let h = client
        .spawn(move || {
            Connection::attach(spid, chid)
                .unwrap()
                .send_timeout(b"x", &mut [], LONG)
        })
        .unwrap();
    wait_state(&k, client.pid(), 1, |s| {
        matches!(s, ThreadState::Send { .. })
    });
    drop(server);
    assert_eq!(join(h), Err(Errno::ESRCH));
    assert_eq!(k.pool_usage().channels.live, 0);
    assert_eq!(k.pool_usage().processes.live, 1);
}

#[test]
fn spawning_at_an_out_of_range_priority_is_einval() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    assert_eq!(p.spawn_with_priority(0, || ()).err(), Some(Errno::EINVAL));
    assert_eq!(p.spawn_with_priority(256, || ()).err(), Some(Errno::EINVAL));
    join(p.spawn_with_priority(255, || ()).unwrap());
}

#[test]
fn counters_count_what_the_process_did() {
    let k = kernel();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(10).unwrap();
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let h = p
        .spawn(move || {
            let c = Connection::attach(0, chid).unwrap();
            for _ in 0..10 {
                c.send_timeout(b"abc", &mut [0u8; 3], LONG).unwrap();
            }
        })
        .unwrap();
    for _ in 0..10 {
        let Received::Message { rcvid, .. } = chan.receive_timeout(&mut [0u8; 8], LONG).unwrap()
        else {
            panic!()
        };
        rcvid.reply(0, b"xyz").unwrap();
    }
    join(h);
    let c = p.counters().unwrap();
    assert_eq!((c.msgs_sent, c.msgs_received, c.replies), (10, 10, 10));
    assert_eq!(c.bytes_copied, 60);
    // create + attach + 10 sends + 10 receives + 10 replies (+ the detach on drop, counted later).
    assert!(
        c.kernel_entries >= 32,
        "kernel entries {}",
        c.kernel_entries
    );
}

#[test]
fn a_handle_dropped_on_a_thread_of_another_process_cleans_up_without_a_thread_death_pulse() {
    let k = kernel();
    let owner = Process::new_in(&k).unwrap();
    let other = Process::new_in(&k).unwrap();
    // The owner watches for thread deaths.
    let death = Channel::create_in(&owner, _NTO_CHF_THREAD_DEATH).unwrap();
    let target = Channel::create_in(&owner, 0).unwrap();
    let conn = Connection::attach_in(&owner, owner.pid(), target.chid()).unwrap();
    let chan = Channel::create_in(&owner, 0).unwrap();
    let (coid, chid) = (conn.coid(), chan.chid());
    let before = k.snapshot();
    assert!(before
        .connections
        .iter()
        .any(|c| c.pid == owner.pid() && c.coid == coid));
    // Dropped by a thread of another process: the clean-up runs in the owner's process.
    join(
        other
            .spawn(move || {
                drop(conn);
                drop(chan);
            })
            .unwrap(),
    );
    let after = k.snapshot();
    assert!(!after
        .connections
        .iter()
        .any(|c| c.pid == owner.pid() && c.coid == coid));
    assert!(!after
        .channels
        .iter()
        .any(|c| c.pid == owner.pid() && c.chid == chid));
    // ...and no thread of the owner died as far as it can tell.
    let mut buf = [0u8; 64];
    assert_eq!(
        death
            .receive_timeout(&mut buf, Duration::from_millis(50))
            .map(drop),
        Err(Errno::ETIMEDOUT)
    );
}
