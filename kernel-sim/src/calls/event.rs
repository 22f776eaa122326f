//! Events: MsgDeliverEvent, MsgVerifyEvent, and the delivery of a `sigevent` that timers and
//! kernel timeouts share.

use super::{pulse, srr, Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::sigev::*;
use crate::abi::types::{RcvId, SigEvent};
use crate::objects::{Channel, KState, Process};
use crate::pool::Id;
use crate::region::Tables;

/// The highest signal number Linux knows (`SIGRTMAX`).
pub const SIG_MAX: i32 = 64;

/// A signal to send once the kernel lock is released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalOut {
    /// The simulated process the signal is aimed at (a signal whose default action ends a
    /// process ends this one).
    pub proc: Id<Process>,
    /// Its pid.
    pub pid: i32,
    /// Linux thread to signal.
    pub os_tid: i32,
    /// The Linux process it is in: 0 for the calling one (always so in a kernel of one Linux
    /// process).
    pub os_pid: i32,
    /// Signal number.
    pub signo: i32,
    /// `si_code` (`SI_QUEUE` unless the event gives one).
    pub code: i32,
    /// `si_value`.
    pub value: u64,
    /// A process-directed SignalKill to a program of its own (the only simulated process of
    /// its Linux process): sent to the Linux process, so that Linux picks a thread that does not
    /// block the signal, as QNX picks one for a process-directed signal.
    pub to_process: bool,
}

/// Checks `ev` for target thread `target`, and unless `verify_only`, delivers it:
/// `SIGEV_PULSE` on the target process's connection `sigev_coid` (ESRCH no such connection,
/// EBADF its channel gone, EINVAL bad priority or code, EAGAIN no pulse left), `SIGEV_UNBLOCK`
/// releases the target if it is blocked, the `SIGEV_SIGNAL*` kinds send a Linux signal to the
/// target process or thread (EINVAL bad signal number, or a code that is not negative),
/// `SIGEV_INTR` readies the target from InterruptWait (or makes its next InterruptWait return at
/// once), `SIGEV_THREAD` EBUSY (the kernel cannot make threads), anything else EINVAL.
pub(crate) fn deliver(
    t: &mut Tables<'_>,
    target: u32,
    ev: &SigEvent,
    verify_only: bool,
    from: pulse::From,
    fx: &mut Effects,
) -> KResult<()> {
    match ev.kind() {
        SIGEV_NONE => Ok(()),
        SIGEV_PULSE => {
            let r = pulse_route(t, target, ev)?;
            if !verify_only {
                pulse::send_pulse(t, r.chan, r.prio, r.code, r.value, r.scoid, from, fx)?;
            }
            Ok(())
        }
        SIGEV_UNBLOCK => {
            if !verify_only
                && matches!(
                    t.threads.at(target).state(),
                    KState::Send { .. }
                        | KState::Receive { .. }
                        | KState::Reply { .. }
                        | KState::Intr
                        | KState::Nanosleep
                )
            {
                if let Some(r) = srr::force_ready(t, target, srr::Why::Timeout, fx) {
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
                let (os_tid, proc) = {
                    let th = t.threads.at(target);
                    (th.os_tid, th.proc)
                };
                let (pid, os_pid) = (t.procs.at(proc.index).pid, t.procs.at(proc.index).os_pid);
                fx.signals.push(SignalOut {
                    proc,
                    pid,
                    os_tid,
                    os_pid,
                    signo,
                    code,
                    value: ev.sigev_value,
                    to_process: false,
                });
            }
            Ok(())
        }
        SIGEV_INTR => {
            if !verify_only {
                super::interrupt::intr_event(t, target, fx);
            }
            Ok(())
        }
        SIGEV_THREAD => Err(Errno::EBUSY),
        _ => Err(Errno::EINVAL),
    }
}

/// Where a `SIGEV_PULSE` event for thread `target` goes.
pub(crate) struct PulseRoute {
    /// The channel behind the target process's connection `sigev_coid`.
    pub chan: Id<Channel>,
    /// The pulse's priority.
    pub prio: u8,
    /// Its code.
    pub code: i8,
    /// Its value.
    pub value: u64,
    /// The scoid it arrives through.
    pub scoid: i32,
}

/// Resolves `SIGEV_PULSE` event `ev` for thread `target`: `sigev_coid` is a connection of the
/// target's process (ESRCH if not, EBADF if its channel is gone), the priority 1..=255 or -1
/// for the target's (EINVAL otherwise), the code a pulse code (EINVAL otherwise).
pub(crate) fn pulse_route(t: &mut Tables<'_>, target: u32, ev: &SigEvent) -> KResult<PulseRoute> {
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
        p if (PRIO_MIN..=PRIO_MAX).contains(&p) => p as u8,
        _ => return Err(Errno::EINVAL),
    };
    let code = i8::try_from(ev.sigev_code).map_err(|_| Errno::EINVAL)?;
    Ok(PulseRoute {
        chan,
        prio,
        code,
        value: ev.value_int() as u32 as u64,
        scoid,
    })
}

/// Where an event for an rcvid goes.
enum Target {
    /// The client thread the rcvid names (its current message, or its last one).
    Thread(u32),
    /// That thread has exited, its connection lives: its process.
    Process(Id<Process>),
}

/// The client an rcvid names for event delivery: its thread, by its current or last message
/// with the caller's process (it need not be REPLY-blocked), or by an earlier message while
/// its process is connected to the caller's; rcvid 0 is the caller itself.
/// EBADF once the connection that message came through is detached (QNX: "the thread
/// indicated by rcvid had its connection detached"). If the thread has exited while that
/// connection lives, a thread of its process (QNX: process-directed events go to any valid
/// thread) until a new thread takes its slot; ESRCH once the connection is gone too.
fn event_target(t: &Tables<'_>, me: Caller, rcvid: RcvId) -> KResult<Target> {
    if rcvid == 0 {
        return Ok(Target::Thread(me.thread.index));
    }
    let (idx, gen) = super::rcvid_parts(rcvid).ok_or(Errno::ESRCH)?;
    if idx >= t.cfg.max_threads {
        return Err(Errno::ESRCH);
    }
    let th = t.threads.at(idx);
    if th.rcv_gen != gen && t.threads.id_at(idx).is_some() {
        // An earlier message of the thread in the slot (received since it took the slot):
        // QNX's rcvids stay valid for events after the reply, while the client's connection
        // lives, so that a server can notify a client that has sent other messages since
        // (ionotify, select). Here: while its process is connected to us.
        if !crate::abi::ids::rcvid_gen_since(th.first_gen, th.rcv_gen, gen) {
            return Err(Errno::ESRCH);
        }
        // Not ours if we never received a message of this thread (QNX's rcvid carries the
        // server's scoid: another server's rcvid names nobody of ours). Kept per process
        // slot modulo 64, so with more processes a server that shares a bit with one that
        // received the thread is let through, to the client's connection check below.
        if th.servers & crate::objects::Thread::server_bit(me.proc) == 0 {
            return Err(Errno::ESRCH);
        }
        let client = th.proc;
        let connected = t.conns.live_ids().any(|id| {
            let c = t.conns.at(id.index);
            c.client == client && c.server == me.proc && c.links > 0
        });
        return if connected {
            Ok(Target::Thread(idx))
        } else {
            Err(Errno::EBADF)
        };
    }
    if th.rcv_gen != gen || th.last_server != me.proc {
        return Err(Errno::ESRCH);
    }
    if t.threads.id_at(idx).is_some() {
        let connected = t
            .conns
            .get(th.last_conn)
            .is_some_and(|c| c.client == th.proc && c.links > 0);
        return if connected {
            Ok(Target::Thread(idx))
        } else {
            Err(Errno::EBADF)
        };
    }
    // The slot is free: its thread exited. Its process, if alive and still connected to us.
    let proc = th.exited_proc;
    let alive = t
        .procs
        .get(proc)
        .is_some_and(|p| p.state == crate::objects::process::ProcState::Alive);
    let connected = t
        .conns
        .get(th.last_conn)
        .is_some_and(|c| c.client == proc && c.links > 0);
    if alive && connected {
        Ok(Target::Process(proc))
    } else {
        Err(Errno::ESRCH)
    }
}

/// Whether `ev` is aimed at one thread (then a client thread that exited cannot take it).
fn thread_directed(ev: &SigEvent) -> bool {
    matches!(ev.kind(), SIGEV_SIGNAL_THREAD | SIGEV_UNBLOCK)
}

fn resolve(t: &Tables<'_>, me: Caller, rcvid: RcvId, ev: &SigEvent) -> KResult<u32> {
    match event_target(t, me, rcvid)? {
        Target::Thread(i) => Ok(i),
        Target::Process(_) if thread_directed(ev) => Err(Errno::ESRCH),
        // A pulse needs only the process; a signal needs a thread of the program's to run
        // its handler.
        Target::Process(p) => t
            .program_thread(p, ev.kind() == SIGEV_PULSE)
            .ok_or(Errno::ESRCH),
    }
}

/// ThreadCancel: cancels thread `tid` of the caller's process in the kernel, after the C
/// library marked it cancelled (a C program's `pthread_cancel`). A thread blocked in a
/// cancellation point (`cancel::point`: a call QNX makes one, by a thread with cancellation
/// enabled) leaves it as a signal would make it leave (QNX: SEND-blocked and RECEIVE-blocked
/// at once; REPLY-blocked at once, or on an `_NTO_CHF_UNBLOCK` channel once the server
/// answers its unblock pulse), with ECANCELED, and the library then acts on the cancellation.
/// Any other thread is marked: its next blocking call in a cancellation point ends at once.
/// ESRCH no such thread of the caller's process. The caller itself: marked (its own next
/// cancellation point acts).
pub fn thread_cancel(t: &mut Tables<'_>, me: Caller, tid: i32, fx: &mut Effects) -> KResult<Step> {
    let i = t
        .thread_by_tid(me.proc, tid)
        .filter(|&i| !t.threads.at(i).internal && !t.threads.at(i).zombie)
        .ok_or(Errno::ESRCH)?;
    let th = t.threads.at(i);
    let blocked = matches!(
        th.state(),
        KState::Send { .. }
            | KState::Receive { .. }
            | KState::Reply { .. }
            | KState::Intr
            | KState::Nanosleep
    );
    if blocked && th.cancellable {
        if let Some(r) = super::srr::force_ready(t, i, super::srr::Why::Cancel, fx) {
            t.ready(i, r, fx);
        }
    } else {
        t.threads.at_mut(i).cancel_pending = true;
    }
    Ok(Step::Done(0))
}

/// MsgDeliverEvent: delivers `ev` to the client `rcvid` names.
pub fn msg_deliver_event(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    ev: &SigEvent,
    fx: &mut Effects,
) -> KResult<Step> {
    let target = resolve(t, me, rcvid, ev)?;
    deliver(t, target, ev, false, me.thread.index, fx)?;
    Ok(Step::Done(0))
}

/// MsgVerifyEvent: checks that `ev` could be delivered to the client `rcvid` names.
pub fn msg_verify_event(
    t: &mut Tables<'_>,
    me: Caller,
    rcvid: RcvId,
    ev: &SigEvent,
    fx: &mut Effects,
) -> KResult<Step> {
    let target = resolve(t, me, rcvid, ev)?;
    deliver(t, target, ev, true, pulse::KERNEL, fx)?;
    Ok(Step::Done(0))
}

/// SignalKill(nd, pid, tid, signo, code, value): sends signal `signo` to simulated process `pid`
/// (0: the caller's), or with `tid` non-zero to that thread of it. What the signal does follows
/// the Linux process's disposition of it (the dispatcher applies it: run the handler in the
/// target's Linux thread, nothing, or tear the simulated process down; docs/deviations.md,
/// "Signals"). The handler's `siginfo_t` has `code` and `value` as given (SI_USER, 0, too:
/// QNX's `kill()`); `code` above SI_USER is refused, as QNX's kernel refuses it (the positive
/// codes are the kernel's), every negative one taken. `signo` 0 only checks the target.
/// ENOREMOTE `nd` not local, EINVAL `signo` outside 0..=64 or `code` above SI_USER, ESRCH no
/// such process (or it is exiting) or thread.
#[allow(clippy::too_many_arguments)]
pub fn signal_kill(
    t: &mut Tables<'_>,
    me: Caller,
    nd: u32,
    pid: i32,
    tid: i32,
    signo: i32,
    code: i32,
    value: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    if nd != ND_LOCAL_NODE {
        return Err(Errno::ENOREMOTE);
    }
    if !(0..=SIG_MAX).contains(&signo) || code > SI_USER {
        return Err(Errno::EINVAL);
    }
    let proc = if pid == 0 {
        Some(me.proc)
    } else {
        t.proc_by_pid(pid)
    };
    let Some(proc) = proc.filter(|&p| {
        t.procs
            .get(p)
            .is_some_and(|p| p.state == crate::objects::process::ProcState::Alive)
    }) else {
        return Err(Errno::ESRCH);
    };
    // The thread the signal goes to: the one named, or (process-directed) one of the
    // program's (never a library's internal thread, which blocks signals).
    let target = if tid == 0 {
        t.program_thread(proc, false).unwrap_or(crate::pool::NIL)
    } else {
        t.thread_by_tid(proc, tid).ok_or(Errno::ESRCH)?
    };
    if signo == 0 {
        return Ok(Step::Done(0));
    }
    let os_tid = if target == crate::pool::NIL {
        0
    } else {
        t.threads.at(target).os_tid
    };
    let os_pid = t.procs.at(proc.index).os_pid;
    // (A program hosting other simulated processes too, or this one's own: to the thread.)
    let alone = t
        .procs
        .live_ids()
        .all(|q| q == proc || t.procs.at(q.index).os_pid != os_pid);
    fx.signals.push(SignalOut {
        proc,
        pid: t.procs.at(proc.index).pid,
        os_tid,
        os_pid,
        signo,
        code,
        value: value as u32 as u64,
        to_process: tid == 0 && alone,
    });
    Ok(Step::Done(0))
}
