//! Processes and threads: creation, exit and priorities.

use super::{channel, connect, Caller, Effects, Step};
use crate::abi::consts::*;
use crate::abi::errno::{Errno, KResult};
use crate::objects::process::ProcState;
use crate::objects::thread::CallResult;
use crate::objects::{CoidSlot, KState, Process, Thread};
use crate::pool::{Id, Pooled, NIL};
use crate::region::Tables;

/// Creates a simulated process whose memory is Linux process `os_pid`'s (0: the caller's, in
/// a kernel of one Linux process); returns its id and pid, the next free one.
pub fn process_create(t: &mut Tables<'_>, os_pid: i32) -> KResult<(Id<Process>, i32)> {
    let first = if os_pid == 0 {
        2
    } else {
        crate::region::SHARED_FIRST_PID
    };
    // Skip pids still in use (the counter wraps, and a shared kernel's Linux pids are taken
    // as they come).
    let mut pid = (*t.next_pid).max(first);
    for _ in 0..=t.cfg.max_processes {
        if t.proc_by_pid(pid).is_none() {
            break;
        }
        pid = pid.checked_add(1).unwrap_or(first);
    }
    let id = process_create_as(t, pid, os_pid, "")?;
    if let Some(u) = t.undo {
        u.get().log_val(&*t.next_pid);
    }
    *t.next_pid = pid.checked_add(1).unwrap_or(first);
    Ok((id, pid))
}

/// Creates a simulated process with pid `pid` (a shared kernel's Linux process, whose pid is
/// its Linux pid): EEXIST if a live process has that pid.
pub fn process_create_as(
    t: &mut Tables<'_>,
    pid: i32,
    os_pid: i32,
    name: &str,
) -> KResult<Id<Process>> {
    if pid <= 0 {
        return Err(Errno::EINVAL);
    }
    if t.proc_by_pid(pid).is_some() {
        return Err(Errno::EEXIST);
    }
    let mut p = Process::vacant();
    p.pid = pid;
    p.os_pid = os_pid;
    // (Calls run in the caller's thread: a process of another program is made by that
    // program, so the image is the caller's.)
    #[cfg(not(loom))]
    if os_pid != 0 {
        p.os_image = crate::kernel::image_tag();
    }
    // Control characters (an argv[0] may hold any byte but NUL) become '?', so that no listing
    // sends a terminal escape; cut at a character boundary to fit, with room for a NUL.
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let name = clean.as_str();
    let mut n = name.len().min(p.name.len() - 1);
    while !name.is_char_boundary(n) {
        n -= 1;
    }
    p.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let id = t.procs.alloc(p).ok_or(Errno::EAGAIN)?;
    if crate::trace::on(t.trace) {
        crate::trace::process(t.trace, pid, &name[..n]);
    }
    Ok(id)
}

/// Records on process `proc` what the first thread of the next program it starts (`spawn*()`,
/// or `exec` of its own Linux process) joins at: thread `from`'s policy and base priority, as
/// QNX starts a spawned program at its spawning thread's; none (priority 10, `SCHED_RR`) when
/// `from` is `None` or gone. Written (and so logged in the undo record) only when it changes.
/// ESRCH: no process `proc`.
pub fn record_spawn_sched(
    t: &mut Tables<'_>,
    proc: Id<Process>,
    from: Option<Id<Thread>>,
) -> KResult<()> {
    let p = t.procs.get(proc).ok_or(Errno::ESRCH)?;
    let was = (p.spawn_prio, p.spawn_policy);
    let now = from
        .and_then(|th| t.threads.get(th))
        .map_or((0, 0), |th| (th.base_prio, th.policy));
    if was != now {
        let p = t.procs.at_mut(proc.index);
        (p.spawn_prio, p.spawn_policy) = now;
    }
    Ok(())
}

/// What the first thread of a program of a shared kernel joins at (its policy and base
/// priority, as [`record_spawn_sched`] recorded them), the program being Linux process `me`,
/// image `image`, whose parent is Linux process `parent`: what the program's own process of an
/// earlier image of `me` recorded (the image that `exec`ed this one: looked at before the new
/// image's attach tears it down), else what the parent's own process recorded (the program
/// that spawned this one). `None`: neither has a record.
#[cfg_attr(loom, allow(dead_code))]
pub fn spawn_sched_for(t: &Tables<'_>, me: i32, image: u64, parent: i32) -> Option<(u8, u8)> {
    let own = |p: &Process, pid: i32| p.pid == pid && p.os_pid == pid;
    let recorded = |p: &Process| {
        (p.spawn_prio != 0 && p.spawn_policy != 0).then_some((p.spawn_policy, p.spawn_prio))
    };
    let procs = || t.procs.live_ids().map(|id| t.procs.at(id.index));
    procs()
        .filter(|p| own(p, me) && p.os_image != image)
        .find_map(recorded)
        .or_else(|| {
            if parent <= 0 {
                return None;
            }
            procs().filter(|p| own(p, parent)).find_map(recorded)
        })
}

/// Registers a thread in process `proc` at priority `prio`.
pub fn thread_create(
    t: &mut Tables<'_>,
    proc: Id<Process>,
    prio: i32,
    os_tid: i32,
) -> KResult<(Id<Thread>, i32)> {
    if !(i32::from(PRIO_MIN)..=i32::from(PRIO_MAX)).contains(&prio) {
        return Err(Errno::EINVAL);
    }
    let p = t.procs.get(proc).ok_or(Errno::ESRCH)?;
    if p.state != ProcState::Alive {
        return Err(Errno::ENXIO);
    }
    let (tid, first) = (p.next_tid, p.threads);
    let mut th = Thread::vacant();
    th.proc = proc;
    th.tid = tid;
    th.pnext = first;
    th.base_prio = prio as u8;
    th.prio = prio as u8;
    th.policy = SCHED_RR as u8;
    th.os_tid = os_tid;
    // Carry the slot's receive generation on, so rcvids naming its last tenant stay stale.
    th.rcv_gen = t
        .threads
        .peek_free()
        .map_or(0, |i| super::rcvid_next_gen(t.threads.at(i).rcv_gen));
    th.first_gen = th.rcv_gen;
    let id = t.threads.alloc(th).ok_or(Errno::EAGAIN)?;
    t.set_running(id.index);
    let p = t.procs.at_mut(proc.index);
    p.threads = id.index;
    p.nthreads += 1;
    p.next_tid += 1;
    Ok((id, tid))
}

/// A thread leaves the kernel for good: unlinked from whatever it waits on and freed. A thread
/// still blocked (its process is being torn down) is readied with ESRCH first.
pub fn thread_destroy(t: &mut Tables<'_>, th: Id<Thread>, fx: &mut Effects) {
    if t.threads.get(th).is_none() {
        return;
    }
    let i = th.index;
    let esrch = CallResult::Err(Errno::ESRCH.0);
    match t.threads.at(i).state() {
        KState::Send { .. } => {
            t.threads.at_mut(i).clear_send();
            t.ready(i, esrch, fx);
        }
        KState::Receive { .. } | KState::Intr | KState::Nanosleep => t.ready(i, esrch, fx),
        KState::Reply { .. } => {
            t.threads.at_mut(i).zombie = false;
            super::srr::end_exchange(t, i, esrch, fx);
        }
        _ => {}
    }
    let (proc, tid, prio, internal) = {
        let th = t.threads.at(i);
        (th.proc, th.tid, th.prio, th.internal)
    };
    if !internal {
        super::pulse::death_pulse(
            t,
            proc,
            _NTO_CHF_THREAD_DEATH,
            prio,
            _PULSE_CODE_THREADDEATH,
            tid,
            fx,
        );
    }
    free_thread(t, th, fx);
}

/// Unlinks thread `th` from its process's thread list and frees its slot (making the wake-ups
/// it took over, were it still readied, and ending the interrupt attachments it made without
/// `_NTO_INTR_FLAGS_PROCESS`).
fn free_thread(t: &mut Tables<'_>, th: Id<Thread>, fx: &mut Effects) {
    let i = th.index;
    t.pay_owed_wakes(i, fx);
    super::interrupt::detach_thread(t, th, fx);
    let proc = t.threads.at(i).proc;
    let next = t.threads.at(i).pnext;
    let mut cur = t.procs.at(proc.index).threads;
    if cur == i {
        t.procs.at_mut(proc.index).threads = next;
    } else {
        while cur != NIL {
            let n = t.threads.at(cur).pnext;
            if n == i {
                t.threads.at_mut(cur).pnext = next;
                break;
            }
            cur = n;
        }
    }
    t.procs.at_mut(proc.index).nthreads -= 1;
    if t.threads.at(i).bounce.any() {
        // (Its long message or the writes for it, in flight as it ended.)
        super::bounce::free_slot(t, i);
    }
    t.trace_dead(i);
    t.threads.free(th);
}

/// Tears a process down: its timers, interrupt attachments and channels go (their blocked peers leave with ESRCH),
/// its threads are released and freed, its connections detached, and the process is freed.
///
/// A thread REPLY-blocked on another process's `_NTO_CHF_UNBLOCK` channel is not released on
/// the spot (QNX's unblock protocol): the server gets `_PULSE_CODE_UNBLOCK`, and the thread
/// stays, as does its connection, until the server answers; then it ends, its connection is
/// detached (the server's `_PULSE_CODE_DISCONNECT` comes after its answer), and the process
/// is freed with its last such thread. Meanwhile the process is exiting: it takes no new
/// connections (ENXIO) and its other objects are gone.
pub fn process_destroy(t: &mut Tables<'_>, proc: Id<Process>, fx: &mut Effects) -> KResult<()> {
    let p = t.procs.get(proc).ok_or(Errno::ESRCH)?;
    if p.state != ProcState::Alive {
        // Already exiting, waiting for servers to answer its last threads.
        return Err(Errno::ESRCH);
    }
    t.procs.at_mut(proc.index).state = ProcState::Exiting;
    let pid = t.procs.at(proc.index).pid;
    crate::trace::teardown(t.trace, pid, "timers");
    super::timer::destroy_all(t, proc);
    crate::trace::teardown(t.trace, pid, "interrupts");
    super::interrupt::detach_all(t, proc, fx);
    let first = t.procs.at(proc.index).threads;
    let prio = if first == NIL {
        PRIO_DEFAULT as u8
    } else {
        t.threads.at(first).prio
    };
    let per = t.cfg.chids_per_process as usize;
    crate::trace::teardown(t.trace, pid, "channels");
    for i in 0..per {
        let id = t.chids[t.pslot(proc) * per + i];
        if t.chans.get(id).is_some() {
            channel::destroy(t, id, fx);
        }
    }
    // Threads: released (ESRCH) and freed, unless a server holds them (above).
    crate::trace::teardown(t.trace, pid, "threads");
    let mut i = t.procs.at(proc.index).threads;
    while i != NIL {
        let next = t.threads.at(i).pnext;
        let blocked = matches!(
            t.threads.at(i).state(),
            KState::Send { .. }
                | KState::Receive { .. }
                | KState::Reply { .. }
                | KState::Intr
                | KState::Nanosleep
        );
        let stays = blocked && super::srr::force_ready(t, i, super::srr::Why::Death, fx).is_none();
        if stays {
            t.threads.at_mut(i).zombie = true;
        } else if let Some(id) = t.threads.id_at(i) {
            if blocked {
                t.ready(i, CallResult::Err(Errno::ESRCH.0), fx);
            }
            free_thread(t, id, fx);
        }
        i = next;
    }
    let fd_per = t.cfg.fd_coids_per_process as usize;
    let side_per = t.cfg.side_coids_per_process as usize;
    let coids = (0..fd_per)
        .map(|i| i as i32)
        .chain((1..side_per).map(|i| (_NTO_SIDE_CHANNEL | i as u32) as i32));
    crate::trace::teardown(t.trace, pid, "connections");
    for coid in coids.collect::<Vec<_>>() {
        let Some(slot) = t
            .coid_slot(proc, coid)
            .map(|s| std::mem::replace(s, CoidSlot::Free))
        else {
            continue;
        };
        match slot {
            // (A connection a remaining thread's exchange holds lives on until the answer.)
            CoidSlot::Coid(conn) => connect::unlink(t, conn, prio, fx),
            CoidSlot::Scoid(conn) => {
                if let Some(c) = t.conns.get_mut(conn) {
                    c.scoid = 0;
                    if c.links == 0 {
                        t.conns.free(conn);
                    }
                }
            }
            CoidSlot::Free => {}
        }
    }
    // Its asyncmsg queues in a shared kernel's region (its connections let go of them above).
    crate::trace::teardown(t.trace, pid, "asyncmsg");
    super::asyncmsg::free_queues_of(t, proc);
    crate::trace::teardown(t.trace, pid, "done");
    if t.procs.at(proc.index).nthreads == 0 {
        t.procs.free(proc);
    }
    Ok(())
}

/// The server answered thread `i`, the last word of an exiting process's thread (already
/// readied with ESRCH): the thread ends, and the process with its last thread.
pub(crate) fn reap_zombie(t: &mut Tables<'_>, i: u32, fx: &mut Effects) {
    let Some(id) = t.threads.id_at(i) else { return };
    let proc = t.threads.at(i).proc;
    free_thread(t, id, fx);
    if t.procs
        .get(proc)
        .is_some_and(|p| p.state != ProcState::Alive && p.nthreads == 0)
    {
        t.procs.free(proc);
    }
}

/// Sets the caller's priority (1..=255, else EINVAL); returns the previous one.
pub fn set_priority(t: &mut Tables<'_>, me: Caller, prio: i32, fx: &mut Effects) -> KResult<Step> {
    if !(i32::from(PRIO_MIN)..=i32::from(PRIO_MAX)).contains(&prio) {
        return Err(Errno::EINVAL);
    }
    let old = set_sched(t, me.thread.index, SCHED_NOCHANGE, prio as u8, fx);
    Ok(Step::Done(old as i64))
}

/// Thread slot `i`'s base priority becomes `prio`, and its policy `policy` (unless
/// `SCHED_NOCHANGE`): its current priority follows (`Tables::set_prio`: traced, its place in a
/// send queue and the server it waits on updated, its OS priority applied where asked).
/// Returns its previous current priority.
fn set_sched(t: &mut Tables<'_>, i: u32, policy: i32, prio: u8, fx: &mut Effects) -> u8 {
    let (old, old_base) = {
        let th = t.threads.at(i);
        (th.prio, th.base_prio)
    };
    {
        let th = t.threads.at_mut(i);
        th.base_prio = prio;
        if policy != SCHED_NOCHANGE {
            th.policy = policy as u8;
        }
    }
    t.set_prio(i, prio, "set", fx);
    if old == prio && old_base != prio && crate::trace::on(t.trace) {
        // (Only the base changed: `set_prio` traced nothing.)
        t.trace_prio(i, "set");
    }
    old
}

/// The thread SchedGet and SchedSet name: `tid` 0 is the caller (`pid` is then ignored, as
/// QNX ignores it); otherwise thread `tid` of process `pid` (0: the caller's), which may be
/// another process's. ESRCH when there is no such live thread (or its process is going).
fn sched_target(t: &Tables<'_>, me: Caller, pid: i32, tid: i32) -> KResult<u32> {
    if tid == 0 {
        return Ok(me.thread.index);
    }
    if tid < 0 || pid < 0 {
        return Err(Errno::ESRCH);
    }
    let proc = if pid == 0 {
        me.proc
    } else {
        t.proc_by_pid(pid).ok_or(Errno::ESRCH)?
    };
    let p = t.procs.get(proc).ok_or(Errno::ESRCH)?;
    if p.state != ProcState::Alive {
        return Err(Errno::ESRCH);
    }
    match t.thread_by_tid(proc, tid) {
        Some(i) if !t.threads.at(i).zombie => Ok(i),
        _ => Err(Errno::ESRCH),
    }
}

/// SchedGet(pid, tid): the thread's policy (QNX's number), base and current priority, as
/// `policy << 16 | base << 8 | current`. ESRCH: no such thread; with tid 0 (the caller), a pid
/// other than 0 that no live process has (QNX's SchedGet looks the process up first; its
/// SchedSet ignores the pid then).
pub fn sched_get(t: &mut Tables<'_>, me: Caller, pid: i32, tid: i32) -> KResult<Step> {
    if tid == 0 && pid != 0 {
        let alive = t
            .proc_by_pid(pid)
            .and_then(|p| t.procs.get(p))
            .is_some_and(|p| p.state == ProcState::Alive);
        if !alive {
            return Err(Errno::ESRCH);
        }
    }
    let i = sched_target(t, me, pid, tid)?;
    let th = t.threads.at(i);
    Ok(Step::Done(
        i64::from(th.policy) << 16 | i64::from(th.base_prio) << 8 | i64::from(th.prio),
    ))
}

/// SchedSet(pid, tid, policy, prio): the thread's policy (`SCHED_FIFO`, `SCHED_RR`,
/// `SCHED_OTHER`, or `SCHED_NOCHANGE` to keep it) and base priority (1..=255), as
/// [`set_priority`] sets the caller's. ESRCH no such thread; EINVAL a bad policy or priority;
/// ENOTSUP `SCHED_SPORADIC` (not provided). Returns the previous current priority.
pub fn sched_set(
    t: &mut Tables<'_>,
    me: Caller,
    pid: i32,
    tid: i32,
    policy: i32,
    prio: i32,
    fx: &mut Effects,
) -> KResult<Step> {
    let i = sched_target(t, me, pid, tid)?;
    match policy {
        SCHED_NOCHANGE | SCHED_FIFO | SCHED_RR | SCHED_OTHER => {}
        SCHED_SPORADIC => return Err(Errno::ENOTSUP),
        _ => return Err(Errno::EINVAL),
    }
    if !(i32::from(PRIO_MIN)..=i32::from(PRIO_MAX)).contains(&prio) {
        return Err(Errno::EINVAL);
    }
    let old = set_sched(t, i, policy, prio as u8, fx);
    Ok(Step::Done(old as i64))
}
