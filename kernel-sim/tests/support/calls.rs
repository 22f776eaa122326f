//! Bounded kernel calls: every blocking call a test makes that should complete is armed with
//! [`LONG`], so a kernel bug fails the test instead of hanging it; polls are armed with an
//! immediate timeout. Also what a test reads off a clock or puts in a message.

use super::{
    Errno, KResult, MsgInfo, Pulse, RcvId, SigEvent, ThreadCtx, _NTO_TIMEOUT_RECEIVE,
    _NTO_TIMEOUT_REPLY, _NTO_TIMEOUT_SEND, CLOCK_MONOTONIC, CLOCK_REALTIME, LONG,
};

/// The states a MsgSend blocks in.
pub const SEND_REPLY: u32 = _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY;

/// Arms a one-shot kernel timeout (`None`: time out at once instead of blocking).
pub fn arm(ctx: &ThreadCtx, flags: u32, ns: Option<u64>) {
    ctx.timer_timeout(CLOCK_MONOTONIC, flags, ns)
        .expect("TimerTimeout");
}

/// MsgSend bounded by [`LONG`].
pub fn send(ctx: &ThreadCtx, coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
    arm(ctx, SEND_REPLY, Some(LONG));
    ctx.msg_send(coid, smsg, rmsg)
}

/// MsgReceive bounded by [`LONG`].
pub fn receive(
    ctx: &ThreadCtx,
    chid: i32,
    buf: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    arm(ctx, _NTO_TIMEOUT_RECEIVE, Some(LONG));
    ctx.msg_receive(chid, buf, info)
}

/// MsgReceive that never blocks: ETIMEDOUT when nothing is queued.
pub fn poll(
    ctx: &ThreadCtx,
    chid: i32,
    buf: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> KResult<RcvId> {
    arm(ctx, _NTO_TIMEOUT_RECEIVE, None);
    ctx.msg_receive(chid, buf, info)
}

/// Receives a pulse (bounded) and decodes it; panics if a message arrives instead.
pub fn receive_pulse(ctx: &ThreadCtx, chid: i32) -> Pulse {
    let mut buf = [0u8; 64];
    let rcvid = receive(ctx, chid, &mut buf, None).expect("receive a pulse");
    assert_eq!(rcvid, 0, "expected a pulse, got a message");
    Pulse::from_bytes(&buf).expect("pulse bytes")
}

/// Polls for a pulse: `None` when nothing is queued (ETIMEDOUT); panics on a message.
pub fn poll_pulse(ctx: &ThreadCtx, chid: i32) -> Option<Pulse> {
    let mut buf = [0u8; 64];
    match poll(ctx, chid, &mut buf, None) {
        Ok(0) => Some(Pulse::from_bytes(&buf).expect("pulse bytes")),
        Ok(rcvid) => panic!("expected a pulse or nothing, got message rcvid {rcvid:#x}"),
        Err(Errno::ETIMEDOUT) => None,
        Err(e) => panic!("poll failed: {e:?}"),
    }
}

/// Receives pulses until none is queued on `chid`; returns how many.
pub fn drain_pulses(ctx: &ThreadCtx, chid: i32) -> usize {
    let mut n = 0;
    while poll_pulse(ctx, chid).is_some() {
        n += 1;
    }
    n
}

/// Asserts nothing at all is queued on `chid` (an immediate receive times out).
pub fn assert_nothing_queued(ctx: &ThreadCtx, chid: i32) {
    let mut buf = [0u8; 64];
    assert_eq!(
        poll(ctx, chid, &mut buf, None),
        Err(Errno::ETIMEDOUT),
        "nothing should be queued on chid {chid}"
    );
}

// ------------------------------------------------------------------ clocks and sigevents

/// The current time on `clock` in ns.
pub fn now_ns(clock: i32) -> u64 {
    let id = if clock == CLOCK_REALTIME {
        nix::time::ClockId::CLOCK_REALTIME
    } else {
        nix::time::ClockId::CLOCK_MONOTONIC
    };
    let ts = nix::time::clock_gettime(id).expect("clock_gettime");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// `struct sigevent` as the 32 bytes a client puts in a message.
pub fn event_bytes(ev: &SigEvent) -> [u8; 32] {
    ev.to_bytes()
}

/// The `struct sigevent` a server reads back out of a message.
pub fn event_from_bytes(b: &[u8]) -> SigEvent {
    SigEvent::from_bytes(b).expect("32 bytes of sigevent")
}
