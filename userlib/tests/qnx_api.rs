//! The QNX-named layer: the implicit caller, and the iov forms.

mod support;

use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::Errno;

/// Bounds the next send: a failing server thread must fail the test, not hang it.
fn bound() {
    timer_timeout(1, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, Some(LONG_NS)).unwrap();
}

#[test]
fn an_unbound_thread_joins_the_default_process_on_its_first_call() {
    let (pid, tid) = std::thread::spawn(|| (getpid().unwrap(), gettid().unwrap()))
        .join()
        .unwrap();
    assert_eq!(Ok(pid), userlib::current::default_pid());
    assert!(tid >= 1);
}

#[test]
fn iov_forms_gather_and_scatter_across_parts() {
    let chid = channel_create(0).unwrap();
    let server = std::thread::spawn(move || {
        let (mut a, mut b) = ([0u8; 3], [0u8; 16]);
        let mut info = MsgInfo::default();
        let rcvid = msg_receivev(chid, &mut [&mut a, &mut b], Some(&mut info)).unwrap();
        assert_eq!(&a, b"hel");
        assert_eq!(&b[..8], b"lo world");
        assert_eq!((info.msglen, info.srcmsglen, info.dstmsglen), (11, 11, 6));
        let (mut x, mut y) = ([0u8; 2], [0u8; 4]);
        assert_eq!(msg_readv(rcvid, &mut [&mut x, &mut y], 6).unwrap(), 5);
        assert_eq!((&x, &y), (b"wo", b"rld\0"));
        assert_eq!(msg_writev(rcvid, &[b"!", b"?"], 4).unwrap(), 2);
        msg_replyv(rcvid, 3, &[b"ab", b"cd"]).unwrap();
    });
    let coid = connect_attach(0, 0, chid, 0, 0).unwrap();
    assert!(
        coid >= 0 && (coid as u32 & _NTO_SIDE_CHANNEL) == 0,
        "fd-space coid {coid:#x}"
    );
    let (mut r1, mut r2) = ([0u8; 1], [0u8; 5]);
    let mut rb = [0u8; 6];
    bound();
    assert_eq!(
        msg_sendvs(coid, &[b"hel", b"lo ", b"world"], &mut rb),
        Ok(3)
    );
    assert_eq!(&rb, b"abcd!?");
    server.join().unwrap();

    let server = std::thread::spawn(move || {
        let mut b = [0u8; 8];
        let rcvid = msg_receive(chid, &mut b, None).unwrap();
        msg_reply(rcvid, 0, b"123456").unwrap();
    });
    bound();
    assert_eq!(msg_sendsv(coid, b"q", &mut [&mut r1, &mut r2]), Ok(0));
    assert_eq!((&r1, &r2), (b"1", b"23456"));
    server.join().unwrap();
    connect_detach(coid).unwrap();
    channel_destroy(chid).unwrap();
    assert_eq!(channel_destroy(chid), Err(Errno::EINVAL));
}

#[test]
fn poll_with_a_null_timeout_returns_etimedout_at_once() {
    let chid = channel_create(0).unwrap();
    timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
    assert_eq!(
        msg_receive(chid, &mut [0u8; 32], None),
        Err(Errno::ETIMEDOUT)
    );
    channel_destroy(chid).unwrap();
}

#[test]
fn thread_priority_is_set_and_checked() {
    std::thread::spawn(|| {
        assert_eq!(thread_set_priority(0), Err(Errno::EINVAL));
        assert_eq!(thread_set_priority(256), Err(Errno::EINVAL));
        assert_eq!(thread_set_priority(42), Ok(10));
        assert_eq!(thread_priority(), Ok((42, 42)));
    })
    .join()
    .unwrap();
}

#[test]
fn a_thread_spawned_with_userlib_spawn_belongs_to_the_spawning_threads_process() {
    let p = userlib::Process::new().unwrap();
    let pid = p.pid();
    let (spawned_pid, spawned_prio, plain_pid) = p
        .spawn_with_priority(17, || {
            let inner = userlib::spawn(|| (getpid(), thread_priority().map(|p| p.0)))
                .unwrap()
                .join()
                .unwrap();
            // A plain std thread joins the default process instead.
            let plain = std::thread::spawn(getpid).join().unwrap();
            (inner.0, inner.1, plain)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(spawned_pid, Ok(pid));
    assert_eq!(spawned_prio, Ok(17), "it inherits the spawner's priority");
    assert_eq!(plain_pid, userlib::current::default_pid());
    assert_ne!(plain_pid, Ok(pid));
}

/// `delay(ms)`, as QNX's: one kernel entry, NANOSLEEP-blocked for the whole sleep (what pidin
/// shows for a thread in delay()), 0 once the time has passed, RUNNING again after; delay(0)
/// returns at once.
#[test]
fn delay_sleeps_nanosleep_blocked_in_one_kernel_entry_and_returns_0() {
    use std::time::{Duration, Instant};
    use userlib::ThreadState;
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = p
        .spawn(move || {
            tx.send(gettid().unwrap()).unwrap();
            let t0 = Instant::now();
            let r = delay(400);
            (r, t0.elapsed(), delay(0))
        })
        .expect("spawn");
    let tid = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    wait_state(&k, pid, tid, |s| *s == ThreadState::Nanosleep);
    let during = k.thread_info(pid, tid).unwrap();
    assert_eq!(during.state.to_string(), "NANOSLEEP");
    let (r, slept, zero) = join(h);
    assert_eq!(r, Ok(0));
    assert!(slept >= Duration::from_millis(400), "{slept:?}");
    assert_eq!(zero, Ok(0));
}
