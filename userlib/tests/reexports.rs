//! A program names only `userlib`: every public userlib function whose signature (or a field of
//! what it returns) mentions a kernel-sim type is called here with that type named through
//! `userlib`, and no `kernel_sim` path appears in this file. A type userlib stops re-exporting
//! breaks the build of this test.

mod support;

use std::time::Duration;
use support::*;
use userlib::asyncmsg::{self, AsyncMsg};
use userlib::consts::*;
use userlib::current;
use userlib::qnx::{self, Errno, Iov, KResult, MsgInfo, Pulse, RcvId, PULSE_SIZE};
use userlib::sigev::{SIGEV_PULSE, SIGEV_PULSE_PRIO_INHERIT};
use userlib::{
    AsyncChannel, AsyncChannelInfo, AsyncConnAttr, AsyncConnInfo, AsyncConnection, ChannelInfo,
    Config, ConnectionInfo, Kernel, Listing, OsPriority, Pid, PoolCount, PoolUsage, ProcCounters,
    ProcessInfo, QueueCounts, ReadyConnection, SigEvent, Snapshot, ThreadCtx, ThreadInfo,
    ThreadState, TimerInfo,
};
use userlib::{Channel, Connection, Notifier, Process, ReceiveId, Received, Timer};

#[test]
fn the_qnx_layer_needs_only_userlib_types() {
    let chid = qnx::channel_create(0).unwrap();
    let server = std::thread::spawn(move || -> KResult<()> {
        let mut buf = [0u8; 64];
        let mut info: MsgInfo = MsgInfo::default();
        qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS))?;
        let rcvid: RcvId = qnx::msg_receive(chid, &mut buf, Some(&mut info))?;
        assert_eq!(&buf[..info.msglen as usize], b"ping");
        assert_eq!(qnx::msg_info(rcvid)?.msglen, 4);
        qnx::msg_reply(rcvid, 3, b"pong")?;
        let mut a = [0u8; 2];
        let mut b = [0u8; 8];
        qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS))?;
        let rcvid = qnx::msg_receivev(chid, &mut [&mut a, &mut b], None)?;
        qnx::msg_error(rcvid, Errno::EPERM)
    });
    let coid = qnx::connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let mut reply = [0u8; 4];
    let sent = b"ping";
    let siov: [Iov; 1] = [Iov::from_slice(sent)];
    let riov: [Iov; 1] = [Iov::from_mut_slice(&mut reply)];
    qnx::timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
    // SAFETY: `sent` and `reply` outlive the call and nothing else touches them meanwhile.
    let status = unsafe { qnx::msg_sendv_raw(coid, &siov, &riov) };
    assert_eq!(status, Ok(3));
    assert_eq!(&reply, b"pong");
    qnx::timer_timeout(
        CLOCK_MONOTONIC,
        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
        Some(LONG_NS),
    )
    .unwrap();
    assert_eq!(qnx::msg_send(coid, b"x", &mut []), Err(Errno::EPERM));
    join(server).unwrap();

    // Events and pulses: SigEvent, sigev, Pulse, PULSE_SIZE.
    let ev: SigEvent = qnx::sigev_pulse_init(coid, SIGEV_PULSE_PRIO_INHERIT, 4, 40);
    assert_eq!(ev.kind(), SIGEV_PULSE);
    qnx::msg_verify_event(0, &ev).unwrap();
    qnx::msg_deliver_event(0, &ev).unwrap();
    let mut raw = [0u8; PULSE_SIZE];
    qnx::msg_receive_pulse(chid, &mut raw).unwrap();
    let p: Pulse = Pulse::from_bytes(&raw).unwrap();
    assert_eq!((p.code, p.value_int()), (4, 40));
    let mut raw = [0u8; PULSE_SIZE];
    qnx::msg_deliver_event(0, &ev).unwrap();
    qnx::msg_receive_pulsev(chid, &mut [&mut raw]).unwrap();
    assert_eq!(Pulse::from_bytes(&raw).unwrap().code, 4);
    for e in [
        qnx::sigev_none_init(),
        qnx::sigev_unblock_init(),
        qnx::sigev_signal_init(libc::SIGUSR1),
        qnx::sigev_signal_value_init(libc::SIGUSR1, 1),
        qnx::sigev_signal_code_init(libc::SIGUSR1, 1, -1),
        qnx::sigev_signal_thread_init(libc::SIGUSR1, 1, -1),
        qnx::sigev_intr_init(),
    ] {
        let _: SigEvent = e;
    }

    // Timers: TimerInfo; a TimerTimeout with an event.
    let id = qnx::timer_create(CLOCK_MONOTONIC, Some(&ev)).unwrap();
    let old: TimerInfo = qnx::timer_settime(id, 0, LONG_NS, 0).unwrap();
    assert_eq!(old.remaining, 0);
    let now: TimerInfo = qnx::timer_info(id).unwrap();
    assert!(now.remaining > 0);
    qnx::timer_destroy(id).unwrap();
    let unblock = qnx::sigev_unblock_init();
    qnx::timer_timeout_event(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(&unblock), None).unwrap();
    assert_eq!(
        qnx::msg_receive(chid, &mut [0u8; PULSE_SIZE], None),
        Err(Errno::ETIMEDOUT)
    );
    qnx::connect_detach(coid).unwrap();
    qnx::channel_destroy(chid).unwrap();
}

#[test]
fn the_typed_layer_and_the_kernel_views_need_only_userlib_types() {
    let cfg = Config {
        os_priority: OsPriority::Off,
        ..Config::default()
    };
    let k: Kernel = Kernel::new(cfg).unwrap();
    let proc = Process::new_in(&k).unwrap();
    let _: &Kernel = proc.kernel();
    proc.bind_current_thread(PRIO_DEFAULT).unwrap();

    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = proc
        .spawn(move || {
            let conn = Connection::attach(0, chid)?;
            let ev: SigEvent = conn.pulse_event(-1, 9, 90);
            // The event rides in the message; the server delivers it after replying.
            conn.send_timeout(&ev.to_bytes(), &mut [], LONG)
        })
        .unwrap();
    let mut buf = [0u8; 64];
    let (rcvid, info): (ReceiveId, MsgInfo) = match chan.receive_timeout(&mut buf, LONG) {
        Ok(Received::Message { rcvid, info }) => (rcvid, info),
        other => panic!("expected a message, got {other:?}"),
    };
    let raw: RcvId = rcvid.rcvid();
    assert!(raw > 0);
    let now: MsgInfo = rcvid.info().unwrap();
    assert_eq!(now.pid, info.pid);
    let notifier: Notifier = rcvid.notifier();
    let ev = SigEvent::from_bytes(&buf[..info.msglen as usize]).unwrap();
    notifier.verify(&ev).unwrap();
    rcvid.reply(0, &[]).unwrap();
    join(client).unwrap();

    // A timer delivering a pulse: SigEvent in, TimerInfo out.
    let me = Connection::attach(0, chid).unwrap();
    let timer = Timer::monotonic(&me.pulse_event(-1, 1, 0)).unwrap();
    timer
        .start(Duration::from_millis(1), Duration::ZERO)
        .unwrap();
    match chan.receive_timeout(&mut buf, LONG).unwrap() {
        Received::Pulse(p) => {
            let p: Pulse = p;
            assert_eq!(p.code, 1);
        }
        Received::Message { .. } => panic!("expected the timer's pulse"),
    }
    let ti: TimerInfo = timer.info().unwrap();
    assert_eq!(ti.fired, 1);
    let _ = Timer::create(CLOCK_REALTIME, &SigEvent::NONE).unwrap();

    // The kernel's views: Snapshot and what it holds, pool usage, counters.
    let snap: Snapshot = k.snapshot();
    let t: &ThreadInfo = snap.threads.first().unwrap();
    let _: ThreadState = t.state;
    let _: Option<&ProcessInfo> = snap.processes.first();
    let c: &ChannelInfo = snap.channels.iter().find(|c| c.chid == chid).unwrap();
    assert_eq!(c.pid, proc.pid());
    let _: Option<&ConnectionInfo> = snap.connections.first();
    let usage: PoolUsage = k.pool_usage();
    let _: PoolCount = usage.threads;
    let listing: Listing = k.listing();
    assert_eq!(listing.snapshot.threads.len(), snap.threads.len());
    let counters: ProcCounters = proc.counters().unwrap();
    assert!(counters.msgs_received >= 1);

    // Binding a thread by hand: Pid and ThreadCtx.
    let k2 = k.clone();
    join(std::thread::spawn(move || {
        let pid: Pid = k2.process_create().unwrap();
        let ctx: ThreadCtx = k2.thread_attach(pid, 10).unwrap();
        assert!(current::bind(ctx).is_none());
        let mine = current::with_current(|c: &ThreadCtx| Ok(c.pid())).unwrap();
        assert_eq!(mine, pid.pid);
        let _: Option<ThreadCtx> = current::unbind();
        k2.process_destroy(pid).unwrap();
    }));
}

#[test]
fn asyncmsg_needs_only_userlib_types() {
    let none: Option<&SigEvent> = None;
    let chan = AsyncChannel::create(0, 64, 4, none).unwrap();
    let attr = AsyncConnAttr::default(); // trigger_num_msg 1: every put triggers
    let conn = AsyncConnection::attach(0, chan.chid(), &attr).unwrap();
    conn.put(b"reading".to_vec(), 7, None).unwrap();
    let batch = chan.get_timeout(LONG).unwrap();
    let m: AsyncMsg<'_> = batch.get(0).unwrap();
    let info: MsgInfo = m.info;
    assert_eq!((m.data, info.coid), (&b"reading"[..], conn.coid()));
    drop(batch);
    // The snapshot's asyncmsg parts: the channel's ready list, the connection's send queue.
    let snap = userlib::current::default_kernel().unwrap().snapshot();
    let c: &AsyncChannelInfo = snap
        .channels
        .iter()
        .find_map(|c| c.asyncmsg.as_ref().filter(|_| c.chid == chan.chid()))
        .unwrap();
    let _: &[ReadyConnection] = &c.ready;
    let a: AsyncConnInfo = snap
        .connections
        .iter()
        .find_map(|c| c.asyncmsg.filter(|_| c.coid == conn.coid()))
        .unwrap();
    let _: Option<QueueCounts> = a.queue;
    assert_eq!(a.msgs_taken, 1);
    let chid = asyncmsg::asyncmsg_channel_create(0, 0o600, 64, 4, none, None).unwrap();
    asyncmsg::asyncmsg_channel_destroy(chid).unwrap();
}
