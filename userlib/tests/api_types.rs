//! One integer type per QNX quantity (the table in userlib's crate docs): the signatures are
//! pinned at compile time, and values go from a struct field back into a call without a cast.

mod support;

use std::time::Duration;
use support::*;
use userlib::consts::*;
use userlib::qnx;
use userlib::sigev::SIGEV_PULSE_PRIO_INHERIT;
use userlib::{
    Channel, Config, Connection, Errno, KResult, Kernel, MsgInfo, Process, Pulse, Received,
    SigEvent,
};

fn receive_pulse(chan: &Channel) -> Pulse {
    match chan.receive_timeout(&mut [0u8; 64], LONG).unwrap() {
        Received::Pulse(p) => p,
        Received::Message { info, .. } => panic!("a message from pid {}", info.pid),
    }
}

/// Compiles only while every signature keeps the table's types.
#[test]
fn each_quantity_has_one_integer_type() {
    // Pulse codes: i8 (`struct _pulse`'s `_Int8t code`). Priorities: i16.
    let _: fn(i32, i16, i8, i32) -> KResult<()> = qnx::msg_send_pulse;
    let _: fn(&Connection, i16, i8, i32) -> KResult<()> = Connection::send_pulse;
    let _: fn(i32, i16, i8, i32) -> SigEvent = qnx::sigev_pulse_init;
    let _: fn(i32, i16, i8, i32) -> SigEvent = SigEvent::pulse;
    let _: fn(&Connection, i16, i8, i32) -> SigEvent = Connection::pulse_event;
    let _: [i8; 6] = [
        Pulse::default().code,
        _PULSE_CODE_UNBLOCK,
        _PULSE_CODE_DISCONNECT,
        _PULSE_CODE_COIDDEATH,
        _PULSE_CODE_MINAVAIL,
        _PULSE_CODE_MAXAVAIL,
    ];
    let _: fn(i16) -> KResult<i16> = qnx::thread_set_priority;
    let _: fn() -> KResult<(i16, i16)> = qnx::thread_priority;
    let _: fn(&Process, i16) -> KResult<()> = Process::bind_current_thread;
    let info = MsgInfo::default();
    let ev = SigEvent::default();
    let _: [i16; 7] = [
        info.priority,
        ev.sigev_priority,
        PRIO_MIN,
        PRIO_MAX,
        PRIO_DEFAULT,
        PULSE_PRIO_CALLER,
        SIGEV_PULSE_PRIO_INHERIT,
    ];
    // Message-info flags: MsgInfo's i16, constants included.
    let _: i16 = info.flags & _NTO_MI_UNBLOCK_REQ;
    let _: [i16; 2] = [_NTO_MI_ENDIAN_BIG, _NTO_MI_ENDIAN_DIFF];
    // Signal codes: sigevent's i16.
    let _: fn(u32, i32, i32, i32, i16, i32) -> KResult<()> = qnx::signal_kill;
    let _: fn(i32, i32, i16) -> SigEvent = qnx::sigev_signal_code_init;
    // Clock ids, timer ids: i32; flags: u32.
    let _: fn(i32, u32, Option<u64>) -> KResult<u32> = qnx::timer_timeout;
    let _: fn(i32, Option<&SigEvent>) -> KResult<i32> = qnx::timer_create;
    let _: [u32; 3] = [_NTO_CHF_UNBLOCK, _NTO_COF_CLOEXEC, _NTO_TIMEOUT_RECEIVE];
}

#[test]
fn clock_ids_are_exported_with_the_values_the_kernel_takes() {
    // Linux's ids, as the kernel uses them (QNX's CLOCK_MONOTONIC is 2).
    assert_eq!(CLOCK_REALTIME, libc::CLOCK_REALTIME);
    assert_eq!(CLOCK_MONOTONIC, libc::CLOCK_MONOTONIC);
    let chid = qnx::channel_create(0).unwrap();
    for clock in [CLOCK_MONOTONIC, CLOCK_REALTIME] {
        // A null timeout polls: the receive fails at once instead of blocking.
        qnx::timer_timeout(clock, _NTO_TIMEOUT_RECEIVE, None).unwrap();
        let r = qnx::msg_receive(chid, &mut [0u8; 64], None);
        assert_eq!(r, Err(Errno::ETIMEDOUT), "clock {clock}");
    }
    assert_eq!(
        qnx::timer_timeout(libc::CLOCK_PROCESS_CPUTIME_ID, _NTO_TIMEOUT_RECEIVE, None),
        Err(Errno::EINVAL)
    );
    qnx::channel_destroy(chid).unwrap();
}

#[test]
fn an_i8_pulse_code_arrives_as_sent_on_both_layers_and_through_an_event() {
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    let code: i8 = _PULSE_CODE_MAXAVAIL;

    qnx::msg_send_pulse(conn.coid(), PULSE_PRIO_CALLER, code, 1).unwrap();
    let p = receive_pulse(&chan);
    assert_eq!((p.code, p.value_int()), (code, 1));

    conn.send_pulse(PULSE_PRIO_CALLER, p.code, 2).unwrap(); // a received code goes straight back
    assert_eq!(receive_pulse(&chan).code, code);

    // SIGEV_PULSE: sigev_code holds the i8 code widened; delivery gives the i8 back.
    let ev = conn.pulse_event(SIGEV_PULSE_PRIO_INHERIT, code, 3);
    assert_eq!(ev.sigev_code, i16::from(code));
    assert_eq!(ev, qnx::sigev_pulse_init(conn.coid(), -1, code, 3));
    qnx::msg_deliver_event(0, &ev).unwrap(); // rcvid 0: the calling thread
    let p = receive_pulse(&chan);
    assert_eq!((p.code, p.value_int()), (code, 3));
}

#[test]
fn kernel_pulse_codes_are_refused_to_programs() {
    let chan = Channel::create(0).unwrap();
    let conn = Connection::attach(0, chan.chid()).unwrap();
    for code in [_PULSE_CODE_UNBLOCK, _PULSE_CODE_DISCONNECT, i8::MIN] {
        assert_eq!(conn.send_pulse(-1, code, 0), Err(Errno::EINVAL));
        assert_eq!(
            qnx::msg_send_pulse(conn.coid(), -1, code, 0),
            Err(Errno::EINVAL)
        );
    }
}

#[test]
fn priorities_read_from_the_kernel_go_back_into_calls_as_i16() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(PRIO_DEFAULT).unwrap();
    let chan = Channel::create(0).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn_with_priority(25, move || {
            let conn = Connection::attach(0, chid)?;
            conn.send_timeout(b"hi", &mut [], LONG)?;
            // The client's own priority, as the kernel reports it.
            qnx::thread_priority()
        })
        .unwrap();
    let mut buf = [0u8; 64];
    let prio: i16 = match chan.receive_timeout(&mut buf, LONG).unwrap() {
        Received::Message { rcvid, info } => {
            rcvid.reply(0, &[]).unwrap();
            info.priority
        }
        Received::Pulse(p) => panic!("unexpected pulse {p:?}"),
    };
    assert_eq!(prio, 25);
    assert_eq!(join(client), Ok((25, 25)));
    // The server inherited it; ThreadInfo says so in the same type.
    let me = k.thread_info(p.pid(), qnx::gettid().unwrap()).unwrap();
    assert_eq!((me.base_priority, me.priority), (PRIO_DEFAULT, prio));
    // A received priority sets a thread's and a pulse's priority as it is.
    assert_eq!(qnx::thread_set_priority(prio - 5), Ok(prio)); // the previous: the inherited one
    assert_eq!(qnx::thread_priority(), Ok((prio - 5, prio - 5)));
    let conn = Connection::attach(0, chid).unwrap();
    conn.send_pulse(prio + 1, 1, 0).unwrap();
    receive_pulse(&chan);
    assert_eq!(qnx::thread_priority(), Ok((prio - 5, prio + 1)));
    // Out of 1..=255: EINVAL, never a silent truncation to u8.
    assert_eq!(
        p.spawn_with_priority(PRIO_MAX + 1, || ()).err(),
        Some(Errno::EINVAL)
    );
    assert_eq!(conn.send_pulse(PRIO_MAX + 1, 1, 0), Err(Errno::EINVAL));
    assert_eq!(qnx::thread_set_priority(0), Err(Errno::EINVAL));
}

#[test]
fn an_unblock_request_is_tested_on_msg_info_flags_without_a_cast() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = Process::new_in(&k).unwrap();
    p.bind_current_thread(PRIO_DEFAULT).unwrap();
    let chan = Channel::create(_NTO_CHF_UNBLOCK).unwrap();
    let chid = chan.chid();
    let client = p
        .spawn(move || {
            let conn = Connection::attach(0, chid)?;
            // Times out while REPLY-blocked: the server gets an unblock pulse and decides.
            conn.send_timeout(b"slow", &mut [], Duration::from_millis(20))
        })
        .unwrap();
    let mut buf = [0u8; 64];
    let rcvid = match chan.receive_timeout(&mut buf, LONG).unwrap() {
        Received::Message { rcvid, info } => {
            assert_eq!(info.flags & _NTO_MI_UNBLOCK_REQ, 0);
            rcvid
        }
        Received::Pulse(p) => panic!("unexpected pulse {p:?}"),
    };
    let p = receive_pulse(&chan);
    assert_eq!(p.code, _PULSE_CODE_UNBLOCK);
    assert_eq!(p.value_long(), rcvid.rcvid());
    let flags = rcvid.info().unwrap().flags;
    assert_eq!(flags & _NTO_MI_UNBLOCK_REQ, _NTO_MI_UNBLOCK_REQ);
    rcvid.error(Errno::EINTR).unwrap();
    assert_eq!(join(client), Err(Errno::EINTR));
}
