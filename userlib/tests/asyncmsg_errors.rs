//! asyncmsg error returns: unknown ids, wrong channel kinds, remote nodes, bad sizes.

mod support;

use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::Errno;

#[test]
fn a_put_on_an_unknown_coid_fails_with_ebadf_and_returns_the_buffer() {
    let k = kernel();
    let (recv, fresh) = (process(&k), process(&k));
    let _b = bind(&recv);
    // A process that has used asyncmsg (its library runs) ...
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let e = asyncmsg_put(12345, vec![1, 2, 3], 7, None).unwrap_err();
    assert_eq!(e.errno, Errno::EBADF);
    assert_eq!(e.buf.into_vec(), vec![1, 2, 3]);
    let e = asyncmsg_putv(0x4000_0123, vec![vec![1], vec![2]], 7, None).unwrap_err();
    assert_eq!(e.errno, Errno::EBADF);
    match e.buf {
        AsyncBuf::Parts(p) => assert_eq!(p, vec![vec![1], vec![2]]),
        other => panic!("expected the parts back, got {other:?}"),
    }
    let e = asyncmsg_put_timeout(12345, vec![4], 7, None, SHORT).unwrap_err();
    assert_eq!((e.errno, e.buf.into_vec()), (Errno::EBADF, vec![4]));
    // ... and one that never has.
    let e = run_in(&fresh, || {
        asyncmsg_put(12345, vec![9], 1, None)
            .map_err(|e| (e.errno, e.buf.into_vec()))
            .unwrap_err()
    });
    assert_eq!(e, (Errno::EBADF, vec![9]));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_synchronous_coid_is_not_an_asyncmsg_connection() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let achid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let schid = userlib::qnx::channel_create(0).unwrap();
    let scoid = userlib::qnx::connect_attach(0, 0, schid, _NTO_SIDE_CHANNEL, 0).unwrap();
    assert_eq!(
        asyncmsg_put(scoid, vec![1], 1, None).unwrap_err().errno,
        Errno::EBADF
    );
    assert_eq!(asyncmsg_flush(scoid, 0), Err(Errno::EBADF));
    assert_eq!(asyncmsg_connect_detach(scoid), Err(Errno::EINVAL));
    assert_eq!(
        asyncmsg_connect_attr(scoid, None).err(),
        Some(Errno::EINVAL)
    );
    // The synchronous connection is untouched.
    userlib::qnx::connect_detach(scoid).unwrap();
    userlib::qnx::channel_destroy(schid).unwrap();
    asyncmsg_channel_destroy(achid).unwrap();
}

#[test]
fn asyncmsg_connect_attach_to_a_synchronous_channel_fails_with_einval() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let schid = userlib::qnx::channel_create(0).unwrap();
    let a = attr(1, Duration::ZERO, 4);
    assert_eq!(
        asyncmsg_connect_attach(0, 0, schid, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        asyncmsg_connect_attach(0, recv.pid(), schid, 0, 0, &a),
        Err(Errno::EINVAL)
    );
    userlib::qnx::channel_destroy(schid).unwrap();
}

#[test]
fn asyncmsg_connect_attach_to_an_unknown_chid_or_pid_fails_with_esrch() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let a = attr(1, Duration::ZERO, 4);
    assert_eq!(
        asyncmsg_connect_attach(0, 0, 77, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::ESRCH)
    );
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(
        asyncmsg_connect_attach(0, 999_999, chid, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::ESRCH)
    );
    asyncmsg_channel_destroy(chid).unwrap();
    // A destroyed channel is unknown too.
    assert_eq!(
        asyncmsg_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &a),
        Err(Errno::ESRCH)
    );
}

#[test]
fn asyncmsg_connect_attach_to_a_remote_node_fails_with_enoremote() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(
        asyncmsg_connect_attach(
            1,
            0,
            chid,
            _NTO_SIDE_CHANNEL,
            0,
            &attr(1, Duration::ZERO, 4)
        ),
        Err(Errno::ENOREMOTE)
    );
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn a_synchronous_connect_attach_to_an_asyncmsg_channel_fails_with_einval() {
    let k = kernel();
    let (recv, other) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(
        userlib::qnx::connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0),
        Err(Errno::EINVAL)
    );
    let rpid = recv.pid();
    assert_eq!(
        run_in(&other, move || userlib::qnx::connect_attach(
            0, rpid, chid, 0, 0
        )),
        Err(Errno::EINVAL)
    );
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn asyncmsg_get_on_an_unknown_or_synchronous_chid_fails_with_ebadf() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let achid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(asyncmsg_get(99).err(), Some(Errno::EBADF));
    let schid = userlib::qnx::channel_create(0).unwrap();
    assert_eq!(asyncmsg_get(schid).err(), Some(Errno::EBADF));
    asyncmsg_channel_destroy(achid).unwrap();
    assert_eq!(asyncmsg_get(achid).err(), Some(Errno::EBADF));
    userlib::qnx::channel_destroy(schid).unwrap();
}

#[test]
fn asyncmsg_get_in_a_process_that_never_used_asyncmsg_fails_with_ebadf() {
    let k = kernel();
    let p = process(&k);
    assert_eq!(run_in(&p, || asyncmsg_get(1).err()), Some(Errno::EBADF));
}

#[test]
fn destroying_or_detaching_unknown_ids_fails_with_einval() {
    let k = kernel();
    let (recv, fresh) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(asyncmsg_channel_destroy(chid + 1), Err(Errno::EINVAL));
    assert_eq!(asyncmsg_connect_detach(0x4000_0777), Err(Errno::EINVAL));
    let schid = userlib::qnx::channel_create(0).unwrap();
    assert_eq!(
        asyncmsg_channel_destroy(schid),
        Err(Errno::EINVAL),
        "a synchronous channel is no asyncmsg channel"
    );
    assert_eq!(
        userlib::qnx::channel_destroy(schid),
        Ok(()),
        "and it survives"
    );
    asyncmsg_channel_destroy(chid).unwrap();
    assert_eq!(asyncmsg_channel_destroy(chid), Err(Errno::EINVAL), "twice");
    let chid2 = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let coid = connect(recv.pid(), chid2, 0, &attr(1, Duration::ZERO, 4));
    asyncmsg_connect_detach(coid).unwrap();
    assert_eq!(asyncmsg_connect_detach(coid), Err(Errno::EINVAL), "twice");
    asyncmsg_channel_destroy(chid2).unwrap();
    assert_eq!(
        run_in(&fresh, || (
            asyncmsg_channel_destroy(1),
            asyncmsg_connect_detach(0x4000_0000)
        )),
        (Err(Errno::EINVAL), Err(Errno::EINVAL))
    );
}

#[test]
fn connect_attr_round_trips_and_fails_with_einval_for_an_unknown_coid() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    let rec = Recorder::default();
    let first = AsyncConnAttr {
        call_back: None,
        buffer_size: 100,
        max_num_buffer: 9,
        trigger_num_msg: 3,
        trigger_time: Duration::from_millis(7),
    };
    let coid = connect(recv.pid(), chid, 0, &first);
    let got = asyncmsg_connect_attr(coid, None).unwrap();
    assert_eq!(
        (
            got.buffer_size,
            got.max_num_buffer,
            got.trigger_num_msg,
            got.trigger_time
        ),
        (100, 9, 3, Duration::from_millis(7))
    );
    assert!(got.call_back.is_none());
    let second = AsyncConnAttr {
        call_back: Some(rec.callback()),
        buffer_size: 200,
        max_num_buffer: 9,
        trigger_num_msg: 5,
        trigger_time: Duration::from_millis(3),
    };
    let old = asyncmsg_connect_attr(coid, Some(&second)).unwrap();
    assert_eq!((old.buffer_size, old.trigger_num_msg), (100, 3));
    let got = asyncmsg_connect_attr(coid, None).unwrap();
    assert_eq!(
        (
            got.buffer_size,
            got.max_num_buffer,
            got.trigger_num_msg,
            got.trigger_time
        ),
        (200, 9, 5, Duration::from_millis(3))
    );
    assert!(got.call_back.is_some());
    asyncmsg_connect_detach(coid).unwrap();
    assert_eq!(asyncmsg_connect_attr(coid, None).err(), Some(Errno::EINVAL));
    assert_eq!(
        asyncmsg_connect_attr(coid, Some(&second)).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(asyncmsg_connect_attr(-1, None).err(), Some(Errno::EINVAL));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn flush_and_stats_of_an_unknown_coid_fail_with_ebadf() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(asyncmsg_flush(555, 0), Err(Errno::EBADF));
    assert_eq!(
        asyncmsg_flush(555, ASYNCMSG_FLUSH_NONBLOCK),
        Err(Errno::EBADF)
    );
    assert_eq!(asyncmsg_flush_timeout(555, SHORT), Err(Errno::EBADF));
    assert_eq!(asyncmsg_connection_stats(555).err(), Some(Errno::EBADF));
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn asyncmsg_malloc_beyond_2_gib_fails_with_enomem() {
    assert_eq!(asyncmsg_malloc(3 << 30).err(), Some(Errno::ENOMEM));
    assert_eq!(asyncmsg_malloc(usize::MAX).err(), Some(Errno::ENOMEM));
    assert_eq!(asyncmsg_malloc(16).unwrap(), vec![0u8; 16]);
    assert_eq!(asyncmsg_malloc(0).unwrap(), Vec::<u8>::new());
}

#[test]
fn asyncmsg_channel_create_with_a_zero_size_or_bad_flags_fails_with_einval() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let before = k.pool_usage().channels.live;
    assert_eq!(
        asyncmsg_channel_create(0, 0o600, 0, 4, None, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        asyncmsg_channel_create(0, 0o600, 64, 0, None, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        asyncmsg_channel_create(_NTO_CHF_UNBLOCK, 0o600, 64, 4, None, None),
        Err(Errno::EINVAL)
    );
    // The library's own channel is created on first use; none of the failures made another.
    let lib_chans = k.pool_usage().channels.live - before;
    assert!(lib_chans <= 1, "{lib_chans}");
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    assert_eq!(k.pool_usage().channels.live - before, lib_chans + 1);
    asyncmsg_channel_destroy(chid).unwrap();
    assert_eq!(k.pool_usage().channels.live - before, lib_chans);
}

#[test]
fn a_channel_event_with_an_unknown_coid_fails_asyncmsg_channel_create_with_einval() {
    let k = kernel();
    let recv = process(&k);
    let _b = bind(&recv);
    let ev = userlib::SigEvent::pulse(0x4000_0999, -1, 1, 1);
    let r = asyncmsg_channel_create(0, 0o600, 64, 4, Some(&ev), None);
    // (QNX documents EAGAIN and EINVAL only: an event it cannot deliver is an invalid argument,
    // as for TimerCreate.)
    assert_eq!(r, Err(Errno::EINVAL));
}

#[test]
fn a_library_that_cannot_start_gives_its_channel_back() {
    let k = userlib::Kernel::new(userlib::Config {
        max_threads: 8,
        ..userlib::Config::default()
    })
    .unwrap();
    let p = process(&k);
    let _b = bind(&p);
    // Every thread slot taken: the library's thread cannot be attached.
    let filler = k.process_create().unwrap();
    let mut held = Vec::new();
    while let Ok(t) = k.thread_attach(filler, 10) {
        held.push(t);
    }
    let before = k.pool_usage();
    assert_eq!(
        asyncmsg_channel_create(0, 0o600, 64, 4, None, None),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        k.pool_usage(),
        before,
        "the library's private channel and connection are given back"
    );
    // With a thread slot free, the library starts.
    held.pop();
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}
