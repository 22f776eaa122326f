//! Events: MsgDeliverEvent, MsgVerifyEvent, and the delivery of a `sigevent` that timers and
//! kernel timeouts share.

use super::{pulse, srr, tri, Caller, Effects, Step};
use crate::consts::*;
use crate::errno::{Errno, KResult};
use crate::objects::KState;
use crate::region::Tables;
use crate::types::sigev::*;
use crate::types::SigEvent;

/// The highest signal number Linux knows (`SIGRTMAX`).
pub const SIG_MAX: i32 = 64;

/// A signal to send once the kernel lock is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalOut {
    /// Linux thread to signal.
    pub os_tid: i32,
    /// Signal number.
    pub signo: i32,
    /// `si_code` (`SI_QUEUE` unless the event gives one).
    pub code: i32,
    /// `si_value`.
    pub value: u64,
}

/// `si_code` of a signal queued by a program (Linux's `SI_QUEUE`).
pub const SI_QUEUE: i32 = -1;
/// Linux's `SI_TKILL`, which only `tgkill` may use.
pub const SI_TKILL: i32 = -6;

/// Checks `ev` for target thread `target`, and unless `verify_only`, delivers it:
/// `SIGEV_PULSE` on the target process's connection `sigev_coid` (ESRCH no such connection,
/// EBADF its channel gone, EINVAL bad priority or code, EAGAIN no pulse left), `SIGEV_UNBLOCK`
/// releases the target if it is blocked, the `SIGEV_SIGNAL*` kinds send a Linux signal to the
/// target process or thread (EINVAL bad signal number, or a code that is not negative), `SIGEV_INTR` is ENOSYS (no interrupts
/// here), `SIGEV_THREAD` EBUSY (the kernel cannot make threads), anything else EINVAL.
pub(crate) fn deliver(
    t: &mut Tables<'_>,
    target: u32,
    ev: &SigEvent,
    verify_only: bool,
    fx: &mut Effects,
) -> KResult<()> {
    match ev.kind() {
        SIGEV_NONE => Ok(()),
        SIGEV_PULSE => {
            let proc = t.threads.at(target).proc;
            let conn = t.sync_conn_of(proc, ev.coid()).map_err(|_| Errno::ESRCH)?;
            let (chan, scoid) = {
                let c = t.conns.at(conn.index);
                (c.chan, c.scoid)
            };
            if t.chans.get(chan).is_none() {
                return Err(Errno::EBADF);
            }
            let prio = match ev.sigev_priority {
                SIGEV_PULSE_PRIO_INHERIT => t.threads.at(target).base_prio,
                p if (PRIO_MIN..=PRIO_MAX).contains(&(p as i32)) => p as u8,
                _ => return Err(Errno::EINVAL),
            };
            let code = i8::try_from(ev.sigev_code).map_err(|_| Errno::EINVAL)?;
            if !verify_only {
                pulse::queue_pulse(t, chan, prio, code, ev.value_int() as u32 as u64, scoid, fx)?;
            }
            Ok(())
        }
        SIGEV_UNBLOCK => {
            if !verify_only
                && matches!(
                    t.threads.at(target).state,
                    KState::Send { .. } | KState::Receive { .. } | KState::Reply { .. }
                )
            {
                if let Some(r) = srr::timeout_expired(t, target, fx) {
                    t.ready(target, r, fx);
                }
            }
            Ok(())
        }
        SIGEV_SIGNAL | SIGEV_SIGNAL_CODE | SIGEV_SIGNAL_THREAD => {
            let signo = ev.signo();
            if !(1..=SIG_MAX).contains(&signo) {
                return Err(Errno::EINVAL);
            }
            // Linux queues a signal with a code and value to another thread only with a
            // negative code other than SI_TKILL; QNX's codes for programs are negative too
            // (SI_MINAVAIL..SI_MAXAVAIL, -128..-64). Refuse the rest rather than lose the signal.
            if ev.kind() != SIGEV_SIGNAL && (ev.sigev_code >= 0 || ev.sigev_code as i32 == SI_TKILL)
            {
                return Err(Errno::EINVAL);
            }
            if !verify_only {
                let code = if ev.kind() == SIGEV_SIGNAL {
                    SI_QUEUE
                } else {
                    ev.sigev_code as i32
                };
                // Process-directed signals go to the target thread when it lives, which is a
                // thread of the target process; thread-directed ones to that thread alone.
                let os_tid = t.threads.at(target).os_tid;
                fx.signals.push(SignalOut {
                    os_tid,
                    signo,
                    code,
                    value: ev.sigev_value,
                });
            }
            Ok(())
        }
        SIGEV_INTR => Err(Errno::ENOSYS),
        SIGEV_THREAD => Err(Errno::EBUSY),
        _ => Err(Errno::EINVAL),
    }
}

/// The client thread an rcvid names for event delivery: its current message, or its last one,
/// with the caller's process (it need not be REPLY-blocked). rcvid 0 is the caller itself.
fn event_target(t: &Tables<'_>, me: Caller, rcvid: i32) -> KResult<u32> {
    if rcvid == 0 {
        return Ok(me.thread.index);
    }
    if rcvid < 0 {
        return Err(Errno::ESRCH);
    }
    let idx = ((rcvid as u32) >> 16).wrapping_sub(1);
    let gen = (rcvid as u32 & 0xffff) as u16;
    let th = t
        .threads
        .id_at(idx)
        .map(|id| t.threads.at(id.index))
        .ok_or(Errno::ESRCH)?;
    if th.rcv_gen != gen || th.last_server != me.proc {
        return Err(Errno::ESRCH);
    }
    Ok(idx)
}

/// MsgDeliverEvent: delivers `ev` to the client `rcvid` names.
pub fn msg_deliver_event(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: i32,
    ev: &SigEvent,
    fx: &mut Effects,
) -> Step {
    let target = tri!(event_target(t, me, rcvid));
    tri!(deliver(t, target, ev, false, fx));
    Step::Done(Ok(0))
}

/// MsgVerifyEvent: checks that `ev` could be delivered to the client `rcvid` names.
pub fn msg_verify_event(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: i32,
    ev: &SigEvent,
    fx: &mut Effects,
) -> Step {
    let target = tri!(event_target(t, me, rcvid));
    tri!(deliver(t, target, ev, true, fx));
    Step::Done(Ok(0))
}
