//! The one `dispatch` match: a `Call` reaches its function.

use super::{Bench, Buf, Out};
use crate::abi::consts::*;
use crate::abi::errno::Errno;
use crate::abi::types::{MsgInfo, TimerInfo};
use crate::calls::{Caller, Effects, Step};
use crate::objects::thread::CallResult;
use crate::objects::KState;
use crate::syscalls::{dispatch, Call};

fn call(b: &Bench, me: Caller, c: Call) -> (Result<Step, Errno>, Effects) {
    b.run(|t, fx| dispatch(t, me, c, fx))
}

#[test]
fn dispatch_routes_a_send_receive_reply_exchange_to_its_calls() {
    let b = Bench::new();
    let server = b.spawn(10);
    let client = b.spawn(20);
    assert_eq!(
        call(&b, server, Call::ChannelCreate { flags: 0 }).0,
        Ok(Step::Done(1))
    );
    let ch = b.chan(server, 1);
    let attach = Call::ConnectAttach {
        nd: 0,
        pid: b.pid(server),
        chid: 1,
        index: 0,
        flags: 0,
    };
    assert_eq!(call(&b, client, attach).0, Ok(Step::Done(0)));

    let (smsg, reply, rbuf) = (Buf::new(b"ping"), Buf::zeroed(4), Buf::zeroed(8));
    let send = Call::MsgSend {
        coid: 0,
        smsg: smsg.list(),
        rmsg: reply.list(),
    };
    assert_eq!(call(&b, client, send).0, Ok(Step::Block));
    assert_eq!(b.state(client), KState::Send { chan: ch });

    let info = Out::<MsgInfo>::default();
    let receive = Call::MsgReceive {
        chid: 1,
        rmsg: rbuf.list(),
        info: info.addr(),
        pulse_only: false,
    };
    let rcvid = match call(&b, server, receive).0 {
        Ok(Step::Done(rcvid)) => rcvid,
        other => panic!("{other:?}"),
    };
    assert_eq!(rcvid, b.rcvid(client));
    assert_eq!(
        (&rbuf.bytes()[..4], info.get().srcmsglen),
        (&b"ping"[..], 4)
    );

    let pong = Buf::new(b"pong");
    let reply_call = Call::MsgReply {
        rcvid,
        status: 9,
        smsg: pong.list(),
    };
    let (r, fx) = call(&b, server, reply_call);
    assert_eq!(r, Ok(Step::Done(0)));
    assert_eq!(&fx.wake[..], &[client.thread.index]);
    assert_eq!(b.result(client), CallResult::Ok(9));
    assert_eq!(reply.bytes(), b"pong");
}

#[test]
fn dispatch_passes_each_calls_errors_and_values_through() {
    let b = Bench::new();
    let me = b.spawn(10);
    assert_eq!(
        call(&b, me, Call::ChannelDestroy { chid: 3 }).0,
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&b, me, Call::ConnectDetach { coid: 3 }).0,
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&b, me, Call::MsgError { rcvid: 1, err: 5 }).0,
        Err(Errno::ESRCH)
    );
    assert_eq!(
        call(&b, me, Call::SetPriority { prio: 0 }).0,
        Err(Errno::EINVAL)
    );
    assert_eq!(
        call(&b, me, Call::SetPriority { prio: 33 }).0,
        Ok(Step::Done(10))
    );
    let pulse = Call::MsgSendPulse {
        coid: 0,
        prio: 10,
        code: 1,
        value: 0,
    };
    assert_eq!(call(&b, me, pulse).0, Err(Errno::EBADF));
    let id = match call(
        &b,
        me,
        Call::TimerCreate {
            clock: CLOCK_MONOTONIC,
            event: None,
        },
    )
    .0
    {
        Ok(Step::Done(id)) => id as i32,
        other => panic!("{other:?}"),
    };
    let settime = Call::TimerSettime {
        id,
        flags: 0,
        value: 100,
        interval: 0,
        now: [1_000, 0],
        old: 0,
    };
    assert_eq!(call(&b, me, settime).0, Ok(Step::Done(0)));
    let info = Out::<TimerInfo>::default();
    let ask = Call::TimerInfo {
        id,
        now: [1_040, 0],
        info: info.addr(),
    };
    assert_eq!(call(&b, me, ask).0, Ok(Step::Done(0)));
    assert_eq!(info.get().remaining, 60);
    assert_eq!(call(&b, me, Call::TimerDestroy { id }).0, Ok(Step::Done(0)));
    assert_eq!(b.live().timers, 0);
}
