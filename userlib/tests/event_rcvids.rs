//! MsgDeliverEvent with an rcvid of an earlier message: QNX's rcvids stay valid for events
//! after the reply, while the client's connection lives, so a server can notify a client that
//! has sent other messages since (the `ionotify` and `select` pattern). And the limit: an
//! earlier rcvid of a thread that exited names nobody, whoever holds its slot now (ESRCH).

mod support;

use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::Errno;

fn bound() {
    timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY | _NTO_TIMEOUT_RECEIVE,
        Some(LONG_NS),
    )
    .unwrap();
}

/// A server that receives `n` messages, replies to each, and returns their rcvids.
fn serve(p: &userlib::Process, n: usize) -> (std::thread::JoinHandle<Vec<RcvId>>, i32) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = p
        .spawn(move || {
            let chid = channel_create(_NTO_CHF_DISCONNECT).unwrap();
            tx.send(chid).unwrap();
            let mut ids = Vec::new();
            while ids.len() < n {
                let mut buf = [0u8; 64];
                bound();
                let rcvid = msg_receive(chid, &mut buf, None).unwrap();
                if rcvid > 0 {
                    msg_reply(rcvid, 0, &[]).unwrap();
                    ids.push(rcvid);
                }
            }
            ids
        })
        .unwrap();
    (h, rx.recv_timeout(DEADLINE).unwrap())
}

#[test]
fn an_earlier_rcvid_still_delivers_while_the_client_is_connected() {
    let k = kernel();
    let (sp, cp) = (process(&k), process(&k));
    let (h, chid) = serve(&sp, 3);
    let spid = sp.pid();
    let (tx, rx) = std::sync::mpsc::channel::<i32>();
    let client = cp
        .spawn(move || {
            let own = channel_create(0).unwrap();
            let me = connect_attach(0, 0, own, _NTO_SIDE_CHANNEL, 0).unwrap();
            tx.send(me).unwrap();
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            for _ in 0..3 {
                bound();
                msg_send(coid, &[1, 2, 3, 4], &mut []).unwrap();
            }
            // The server now delivers with the first rcvid: the pulse comes.
            let mut p = [0u8; PULSE_SIZE];
            bound();
            msg_receive_pulse(own, &mut p).unwrap();
            let pulse = userlib::Pulse::from_bytes(&p).unwrap();
            connect_detach(coid).unwrap();
            (pulse.code, pulse.value)
        })
        .unwrap();
    let ids = join(h);
    assert_eq!(ids.len(), 3);
    assert!(
        ids.windows(2).all(|w| w[0] != w[1]),
        "each message its rcvid"
    );
    // The event names the client's coid to its own channel.
    let me = rx.recv_timeout(DEADLINE).unwrap();
    let r = run_in(&sp, move || {
        let ev = sigev_pulse_init(me, 10, 5, 77);
        msg_deliver_event(ids[0], &ev)
    });
    assert_eq!(r, Ok(()), "the first message's rcvid, two messages later");
    let (code, value) = join(client);
    assert_eq!((code, value as u32 as i32), (5, 77));
}

#[test]
fn an_earlier_rcvid_of_a_thread_that_exited_names_nobody() {
    let k = kernel();
    let (sp, cp) = (process(&k), process(&k));
    let (h, chid) = serve(&sp, 2);
    let spid = sp.pid();
    // The client thread sends twice and exits; its process keeps both connections.
    let me = run_in(&cp, move || {
        let own = channel_create(0).unwrap();
        let me = connect_attach(0, 0, own, _NTO_SIDE_CHANNEL, 0).unwrap();
        let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        for _ in 0..2 {
            bound();
            msg_send(coid, &[9, 9], &mut []).unwrap();
        }
        me
    });
    let ids = join(h);
    let ev = sigev_pulse_init(me, 10, 5, 1);
    let deliver = |rcvid: RcvId| run_in(&sp, move || msg_deliver_event(rcvid, &ev));
    // The thread is gone and new threads (the deliverers', the client's) take slots: an
    // earlier rcvid of it names nobody, whichever thread holds its slot now.
    let hold = cp
        .spawn(|| std::thread::sleep(std::time::Duration::from_millis(300)))
        .unwrap();
    assert_eq!(deliver(ids[0]), Err(Errno::ESRCH));
    join(hold);
    assert_eq!(deliver(ids[0]), Err(Errno::ESRCH));
}

#[test]
fn an_earlier_rcvid_of_a_client_no_longer_connected_is_ebadf() {
    let k = kernel();
    let (sp, cp) = (process(&k), process(&k));
    let (h, chid) = serve(&sp, 2);
    let spid = sp.pid();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let client = cp
        .spawn(move || {
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            for _ in 0..2 {
                bound();
                msg_send(coid, &[7], &mut []).unwrap();
            }
            connect_detach(coid).unwrap();
            tx.send(()).unwrap();
            // Alive (its slot its own) until the server has tried.
            done_rx.recv_timeout(DEADLINE).unwrap();
        })
        .unwrap();
    let ids = join(h);
    rx.recv_timeout(DEADLINE).unwrap();
    let ev = userlib::qnx::sigev_unblock_init();
    let r = run_in(&sp, move || {
        (msg_verify_event(ids[0], &ev), msg_verify_event(ids[1], &ev))
    });
    done_tx.send(()).unwrap();
    join(client);
    assert_eq!(r, (Err(Errno::EBADF), Err(Errno::EBADF)));
}
