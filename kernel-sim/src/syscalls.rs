//! The system-call entry: every kernel call as one [`Call`] value, and the one [`dispatch`]
//! `match` that runs it over the tables.
//!
//! A thread asks the kernel for something by building a `Call` (the user-side functions of
//! [`crate::kernel::ThreadCtx`] do that) and entering through `ThreadCtx::call`, which takes
//! the kernel lock, runs [`dispatch`], applies the effects after unlocking and blocks if the
//! call said so. Adding a kernel call therefore touches one variant here, one arm of
//! `dispatch`, one function in a `calls/` file, and one user-side function.
//!
//! A `Call` carries what a trap would carry: numbers, and addresses of the caller's memory
//! (iov lists, out-parameters, an asyncmsg sender queue). Those addresses are the calling
//! thread's own, borrowed for the whole call (an asyncmsg queue: until its connection is
//! detached); `Call`s are built only by `ThreadCtx`'s functions, from borrows or from the
//! promises of their own `unsafe` callers. That is the invariant [`crate::copy`] rests on.

use crate::abi::errno::KResult;
use crate::abi::types::{RcvId, SigEvent};
use crate::calls::{self, timeout::TimeoutRequest, Caller, Effects, Step};
use crate::copy::IovList;
use crate::region::Tables;

/// One kernel call and its arguments.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Call {
    /// ChannelCreate(flags): returns a chid.
    ChannelCreate { flags: u32 },
    /// ChannelDestroy(chid).
    ChannelDestroy { chid: i32 },
    /// ConnectAttach(nd, pid, chid, index, flags): returns a coid.
    ConnectAttach {
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
    },
    /// ConnectDetach(coid).
    ConnectDetach { coid: i32 },
    /// ConnectClientInfo(scoid)'s kernel half: returns the client's `pid << 32 | os_pid`.
    ConnectClientInfo { scoid: i32 },
    /// ConnectServerInfo(pid, coid, info): returns the coid found; `info` is the address of a
    /// `MsgInfo` (QNX's `_server_info`).
    ConnectServerInfo { pid: i32, coid: i32, info: u64 },
    /// ConnectFlags(pid, coid, mask, bits): returns the flags as they were.
    ConnectFlags {
        pid: i32,
        coid: i32,
        mask: u32,
        bits: u32,
    },
    /// MsgSendv(coid, smsg, rmsg): returns the reply status.
    MsgSend {
        coid: i32,
        smsg: IovList,
        rmsg: IovList,
    },
    /// MsgReceivev(chid, rmsg, info), or with `pulse_only` MsgReceivePulsev: returns an rcvid
    /// (0 for a pulse). `info` is the address of a `MsgInfo` or 0.
    MsgReceive {
        chid: i32,
        rmsg: IovList,
        info: u64,
        pulse_only: bool,
    },
    /// MsgReplyv(rcvid, status, smsg).
    MsgReply {
        rcvid: RcvId,
        status: i64,
        smsg: IovList,
    },
    /// MsgError(rcvid, err).
    MsgError { rcvid: RcvId, err: i32 },
    /// MsgReadv(rcvid, dst, offset): returns bytes copied.
    MsgRead {
        rcvid: RcvId,
        dst: IovList,
        offset: u64,
    },
    /// MsgWritev(rcvid, src, offset): returns bytes copied.
    MsgWrite {
        rcvid: RcvId,
        src: IovList,
        offset: u64,
    },
    /// MsgInfo(rcvid, info): `info` is the address of a `MsgInfo`.
    MsgInfo { rcvid: RcvId, info: u64 },
    /// MsgCurrent(rcvid).
    MsgCurrent { rcvid: RcvId },
    /// MsgSendPulse(coid, prio, code, value).
    MsgSendPulse {
        coid: i32,
        prio: i32,
        code: i32,
        value: i32,
    },
    /// MsgDeliverEvent(rcvid, event).
    MsgDeliverEvent { rcvid: RcvId, event: SigEvent },
    /// MsgVerifyEvent(rcvid, event).
    MsgVerifyEvent { rcvid: RcvId, event: SigEvent },
    /// SignalKill(nd, pid, tid, signo, code, value).
    SignalKill {
        nd: u32,
        pid: i32,
        tid: i32,
        signo: i32,
        code: i32,
        value: i32,
    },
    /// ThreadCancel(tid, ...): cancels thread `tid` of the caller's process in the kernel (a C
    /// program's `pthread_cancel`, after glibc's own): ends the cancellation point it is
    /// blocked in, or marks it to end its next one.
    ThreadCancel { tid: i32 },
    /// SchedSet's priority part for the caller: returns the previous priority.
    SetPriority { prio: i32 },
    /// SchedGet(pid, tid): returns `policy << 16 | base << 8 | current`.
    SchedGet { pid: i32, tid: i32 },
    /// SchedSet(pid, tid, policy, prio): returns the previous current priority.
    SchedSet {
        pid: i32,
        tid: i32,
        policy: i32,
        prio: i32,
    },
    /// TimerTimeout: returns the flags armed before.
    TimerTimeout(TimeoutRequest),
    /// TimerCreate(clock, event): returns a timer id. (Not under loom, which models no timer
    /// service.)
    #[cfg_attr(loom, allow(dead_code))]
    TimerCreate { clock: i32, event: Option<SigEvent> },
    /// TimerSettime(id, flags, value, interval): the previous state is written at `old`.
    /// `now` is the time on each clock (monotonic, realtime), read before entering.
    TimerSettime {
        id: i32,
        flags: u32,
        value: u64,
        interval: u64,
        now: [u64; 2],
        old: u64,
    },
    /// TimerInfo(id): the state is written at `info`.
    TimerInfo { id: i32, now: [u64; 2], info: u64 },
    /// TimerDestroy(id).
    TimerDestroy { id: i32 },
    /// name_attach's kernel half: `path` (`len` bytes at that address) names channel `chid`;
    /// returns the name's id.
    NameAttach {
        chid: i32,
        flags: u32,
        path: u64,
        len: u64,
    },
    /// name_detach's kernel half (the name `id` of channel `chid`).
    NameDetach { id: i32, chid: i32 },
    /// name_open's lookup: returns `pid << 32 | chid`, writes the name's id at `id_out`.
    NameLookup { path: u64, len: u64, id_out: u64 },
    /// resmgr_attach's kernel half: the mountpoint `path` (`len` bytes at that address) leads
    /// to channel `chid`; returns the entry's id.
    PathAttach {
        chid: i32,
        flags: u32,
        file_type: u32,
        handle: u32,
        path: u64,
        len: u64,
    },
    /// The path manager's resolution: the `skip`-th entry for `path`, written at `out` (the
    /// address of a `PathEntry`).
    PathResolve {
        path: u64,
        len: u64,
        file_type: u32,
        skip: u32,
        out: u64,
    },
    /// ChannelCreateExt for asyncmsg: returns a chid.
    AsyncChannelCreate {
        flags: u32,
        buffer_size: u64,
        max_num_buffer: u32,
        event: Option<SigEvent>,
    },
    /// ConnectAttachExt for asyncmsg, with the address of the sender queue: returns a coid.
    AsyncConnectAttach {
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
        queue: u64,
        notify_coid: i32,
    },
    /// A queue block in a shared kernel's region for an asyncmsg connection of `capacity`
    /// slots: returns its offset in the queue arena.
    AsyncQueueAlloc { capacity: u32 },
    /// Frees the caller's queue block at `offset` of the queue arena.
    AsyncQueueFree { offset: u64 },
    /// A block of `bytes` (rounded up to whole pages) of a shared kernel's queue arena for the
    /// asyncmsg library's send buffers (`asyncmsg_malloc`): returns its offset in the arena.
    AsyncHeapAlloc { bytes: u64 },
    /// Frees the caller's send-buffer block at `offset` of the queue arena.
    AsyncHeapFree { offset: u64 },
    /// MsgSendAsync(coid): returns the messages pending. `queue`, if given, must be the
    /// connection's (EBADF otherwise); `cpu` is the caller's CPU.
    MsgSendAsync {
        coid: i32,
        queue: Option<u64>,
        cpu: i32,
    },
    /// MsgReceiveAsync(chid, arena, hdrs, max): returns the messages taken.
    MsgReceiveAsync {
        chid: i32,
        arena: IovList,
        hdrs: u64,
        max: u32,
    },
    /// InterruptAttachEvent(level, event, flags), or with `handler` InterruptAttach's kernel
    /// half (no event: the handler's): returns the attachment's id.
    InterruptAttach {
        level: i32,
        handler: bool,
        event: Option<SigEvent>,
        flags: u32,
    },
    /// InterruptDetach(id).
    InterruptDetach { id: i32 },
    /// InterruptMask(level, id): returns the level's mask count.
    InterruptMask { level: i32, id: i32 },
    /// InterruptUnmask(level, id): returns the level's mask count.
    InterruptUnmask { level: i32, id: i32 },
    /// InterruptWait(flags).
    InterruptWait { flags: u32 },
    /// The interrupt service thread's wait: returns the id of the attachment whose handler to
    /// run next.
    InterruptServiceWait,
    /// The service thread ran the handler of attachment `id`, which returned `event`.
    InterruptServiceDone { id: i32, event: Option<SigEvent> },
}

impl Call {
    /// QNX's name of the call (the trace's `qnx::call` events): the kernel call's name, or for
    /// the kernel halves of library functions that QNX's process manager serves, the
    /// function's (`name_attach`, `resmgr_attach`, ...).
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Call::ChannelCreate { .. } => "ChannelCreate",
            Call::ChannelDestroy { .. } => "ChannelDestroy",
            Call::ConnectAttach { .. } => "ConnectAttach",
            Call::ConnectDetach { .. } => "ConnectDetach",
            Call::ConnectClientInfo { .. } => "ConnectClientInfo",
            Call::ConnectServerInfo { .. } => "ConnectServerInfo",
            Call::ConnectFlags { .. } => "ConnectFlags",
            Call::MsgSend { .. } => "MsgSend",
            Call::MsgReceive {
                pulse_only: true, ..
            } => "MsgReceivePulse",
            Call::MsgReceive { .. } => "MsgReceive",
            Call::MsgReply { .. } => "MsgReply",
            Call::MsgError { .. } => "MsgError",
            Call::MsgRead { .. } => "MsgRead",
            Call::MsgWrite { .. } => "MsgWrite",
            Call::MsgInfo { .. } => "MsgInfo",
            Call::MsgCurrent { .. } => "MsgCurrent",
            Call::MsgSendPulse { .. } => "MsgSendPulse",
            Call::MsgDeliverEvent { .. } => "MsgDeliverEvent",
            Call::MsgVerifyEvent { .. } => "MsgVerifyEvent",
            Call::SignalKill { .. } => "SignalKill",
            Call::ThreadCancel { .. } => "ThreadCancel",
            Call::SetPriority { .. } | Call::SchedSet { .. } => "SchedSet",
            Call::SchedGet { .. } => "SchedGet",
            Call::TimerTimeout(_) => "TimerTimeout",
            Call::TimerCreate { .. } => "TimerCreate",
            Call::TimerSettime { .. } => "TimerSettime",
            Call::TimerInfo { .. } => "TimerInfo",
            Call::TimerDestroy { .. } => "TimerDestroy",
            Call::NameAttach { .. } => "name_attach",
            Call::NameDetach { .. } => "name_detach",
            Call::NameLookup { .. } => "name_open",
            Call::PathAttach { .. } => "resmgr_attach",
            Call::PathResolve { .. } => "PathResolve",
            Call::AsyncChannelCreate { .. } => "ChannelCreateExt",
            Call::AsyncConnectAttach { .. } => "ConnectAttachExt",
            Call::AsyncQueueAlloc { .. } => "AsyncQueueAlloc",
            Call::AsyncQueueFree { .. } => "AsyncQueueFree",
            Call::AsyncHeapAlloc { .. } => "AsyncHeapAlloc",
            Call::AsyncHeapFree { .. } => "AsyncHeapFree",
            Call::MsgSendAsync { .. } => "MsgSendAsync",
            Call::MsgReceiveAsync { .. } => "MsgReceiveAsync",
            Call::InterruptAttach { handler: true, .. } => "InterruptAttach",
            Call::InterruptAttach { .. } => "InterruptAttachEvent",
            Call::InterruptDetach { .. } => "InterruptDetach",
            Call::InterruptMask { .. } => "InterruptMask",
            Call::InterruptUnmask { .. } => "InterruptUnmask",
            Call::InterruptWait { .. } => "InterruptWait",
            Call::InterruptServiceWait => "InterruptServiceWait",
            Call::InterruptServiceDone { .. } => "InterruptServiceDone",
        }
    }
}

impl Call {
    /// The arguments its trace's `enter` event shows.
    pub(crate) fn trace_args(&self) -> crate::trace::CallArgs {
        use crate::trace::CallArgs as A;
        match *self {
            Call::ChannelCreate { flags } => A::Flags(flags),
            Call::AsyncChannelCreate { flags, .. } => A::Flags(flags),
            Call::ChannelDestroy { chid } => A::Chid(chid),
            Call::MsgReceive { chid, .. } | Call::MsgReceiveAsync { chid, .. } => A::Chid(chid),
            Call::NameAttach { chid, .. } | Call::PathAttach { chid, .. } => A::Chid(chid),
            Call::ConnectAttach { pid, chid, .. } | Call::AsyncConnectAttach { pid, chid, .. } => {
                A::Attach { pid, chid }
            }
            Call::ConnectDetach { coid }
            | Call::ConnectServerInfo { coid, .. }
            | Call::ConnectFlags { coid, .. }
            | Call::ConnectClientInfo { scoid: coid }
            | Call::MsgSend { coid, .. }
            | Call::MsgSendAsync { coid, .. } => A::Coid(coid),
            Call::MsgReply { rcvid, status, .. } => A::Reply { rcvid, status },
            Call::MsgError { rcvid, err } => A::Error { rcvid, err },
            Call::MsgRead { rcvid, .. }
            | Call::MsgWrite { rcvid, .. }
            | Call::MsgInfo { rcvid, .. }
            | Call::MsgCurrent { rcvid }
            | Call::MsgDeliverEvent { rcvid, .. }
            | Call::MsgVerifyEvent { rcvid, .. } => A::Rcvid(rcvid),
            Call::MsgSendPulse {
                coid, code, value, ..
            } => A::Pulse { coid, code, value },
            Call::SignalKill {
                pid, tid, signo, ..
            } => A::Signal { pid, tid, signo },
            Call::SetPriority { prio } | Call::SchedSet { prio, .. } => A::Prio(prio),
            Call::ThreadCancel { tid } => A::Tid(tid),
            Call::TimerSettime { id, .. }
            | Call::TimerInfo { id, .. }
            | Call::TimerDestroy { id } => A::Timer(id),
            Call::NameDetach { chid, .. } => A::Chid(chid),
            Call::TimerTimeout(_)
            | Call::SchedGet { .. }
            | Call::TimerCreate { .. }
            | Call::NameLookup { .. }
            | Call::PathResolve { .. }
            | Call::AsyncQueueAlloc { .. }
            | Call::AsyncQueueFree { .. }
            | Call::AsyncHeapAlloc { .. }
            | Call::AsyncHeapFree { .. }
            | Call::InterruptAttach { .. }
            | Call::InterruptDetach { .. }
            | Call::InterruptMask { .. }
            | Call::InterruptUnmask { .. }
            | Call::InterruptWait { .. }
            | Call::InterruptServiceWait
            | Call::InterruptServiceDone { .. } => A::None,
        }
    }
}

/// Runs `call` for caller `me` over the tables: the one `match` over the kernel calls.
pub(crate) fn dispatch(
    t: &mut Tables<'_>,
    me: Caller,
    call: Call,
    fx: &mut Effects,
) -> KResult<Step> {
    use calls::{
        asyncmsg, channel, connect, event, interrupt, name, process, pulse, srr, timeout, timer,
    };
    match call {
        Call::ChannelCreate { flags } => channel::channel_create(t, me, flags),
        Call::ChannelDestroy { chid } => channel::channel_destroy(t, me, chid, fx),
        Call::ConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
        } => connect::connect_attach(t, me, nd, pid, chid, index, flags),
        Call::ConnectDetach { coid } => connect::connect_detach(t, me, coid, fx),
        Call::ConnectClientInfo { scoid } => connect::connect_client_info(t, me, scoid),
        Call::ConnectServerInfo { pid, coid, info } => {
            connect::connect_server_info(t, me, pid, coid, info)
        }
        Call::ConnectFlags {
            pid,
            coid,
            mask,
            bits,
        } => connect::connect_flags(t, me, pid, coid, mask, bits),
        Call::MsgSend { coid, smsg, rmsg } => srr::msg_send(t, me, coid, smsg, rmsg, fx),
        Call::MsgReceive {
            chid,
            rmsg,
            info,
            pulse_only,
        } => srr::msg_receive(t, me, chid, rmsg, info, pulse_only, fx),
        Call::MsgReply {
            rcvid,
            status,
            smsg,
        } => srr::msg_reply(t, me, rcvid, status, smsg, fx),
        Call::MsgError { rcvid, err } => srr::msg_error(t, me, rcvid, err, fx),
        Call::MsgRead { rcvid, dst, offset } => srr::msg_read(t, me, rcvid, dst, offset),
        Call::MsgWrite { rcvid, src, offset } => srr::msg_write(t, me, rcvid, src, offset),
        Call::MsgInfo { rcvid, info } => srr::msg_info(t, me, rcvid, info),
        Call::MsgCurrent { rcvid } => srr::msg_current(t, me, rcvid, fx),
        Call::MsgSendPulse {
            coid,
            prio,
            code,
            value,
        } => pulse::msg_send_pulse(t, me, coid, prio, code, value, fx),
        Call::MsgDeliverEvent { rcvid, event } => {
            event::msg_deliver_event(t, me, rcvid, &event, fx)
        }
        Call::MsgVerifyEvent { rcvid, event } => event::msg_verify_event(t, me, rcvid, &event, fx),
        Call::SignalKill {
            nd,
            pid,
            tid,
            signo,
            code,
            value,
        } => event::signal_kill(t, me, nd, pid, tid, signo, code, value, fx),
        Call::ThreadCancel { tid } => event::thread_cancel(t, me, tid, fx),
        Call::SetPriority { prio } => process::set_priority(t, me, prio, fx),
        Call::SchedGet { pid, tid } => process::sched_get(t, me, pid, tid),
        Call::SchedSet {
            pid,
            tid,
            policy,
            prio,
        } => process::sched_set(t, me, pid, tid, policy, prio, fx),
        Call::TimerTimeout(req) => timeout::timer_timeout(t, me, req, fx),
        Call::TimerCreate { clock, event } => timer::timer_create(t, me, clock, event, fx),
        Call::TimerSettime {
            id,
            flags,
            value,
            interval,
            now,
            old,
        } => timer::timer_settime(t, me, id, flags, value, interval, now, old),
        Call::TimerInfo { id, now, info } => timer::timer_info(t, me, id, now, info),
        Call::TimerDestroy { id } => timer::timer_destroy(t, me, id),
        Call::NameAttach {
            chid,
            flags,
            path,
            len,
        } => name::name_attach(t, me, chid, flags, caller_bytes(path, len)),
        Call::NameDetach { id, chid } => name::name_detach(t, me, id, chid),
        Call::NameLookup { path, len, id_out } => {
            name::name_lookup(t, caller_bytes(path, len), id_out)
        }
        Call::PathAttach {
            chid,
            flags,
            file_type,
            handle,
            path,
            len,
        } => name::path_attach(
            t,
            me,
            chid,
            flags,
            file_type,
            handle,
            caller_bytes(path, len),
        ),
        Call::PathResolve {
            path,
            len,
            file_type,
            skip,
            out,
        } => name::path_resolve(t, me, caller_bytes(path, len), file_type, skip, out),
        Call::AsyncChannelCreate {
            flags,
            buffer_size,
            max_num_buffer,
            event,
        } => asyncmsg::channel_create(t, me, flags, buffer_size, max_num_buffer, event, fx),
        Call::AsyncConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
            queue,
            notify_coid,
        } => {
            // SAFETY: `queue` came from `ThreadCtx::async_connect_attach`, whose caller promised
            // that the queue outlives the connection (module doc).
            unsafe {
                asyncmsg::connect_attach(t, me, nd, pid, chid, index, flags, queue, notify_coid)
            }
        }
        Call::AsyncQueueAlloc { capacity } => asyncmsg::queue_alloc(t, me, capacity),
        Call::AsyncQueueFree { offset } => asyncmsg::queue_free(t, me, offset),
        Call::AsyncHeapAlloc { bytes } => asyncmsg::heap_alloc(t, me, bytes),
        Call::AsyncHeapFree { offset } => asyncmsg::heap_free(t, me, offset),
        Call::MsgSendAsync { coid, queue, cpu } => {
            asyncmsg::msg_send_async(t, me, coid, queue, cpu, fx)
        }
        Call::MsgReceiveAsync {
            chid,
            arena,
            hdrs,
            max,
        } => asyncmsg::msg_receive_async(t, me, chid, arena, hdrs, max, fx),
        Call::InterruptAttach {
            level,
            handler,
            event,
            flags,
        } => {
            let kind = if handler {
                crate::objects::IntrKind::Handler
            } else {
                crate::objects::IntrKind::Event
            };
            interrupt::attach(t, me, level, kind, event, flags, fx)
        }
        Call::InterruptDetach { id } => interrupt::detach(t, me, id, fx),
        Call::InterruptMask { level, id } => interrupt::mask(t, me, level, id),
        Call::InterruptUnmask { level, id } => interrupt::unmask(t, me, level, id, fx),
        Call::InterruptWait { flags } => interrupt::wait(t, me, flags, fx),
        Call::InterruptServiceWait => interrupt::service_wait(t, me),
        Call::InterruptServiceDone { id, event } => interrupt::service_done(t, me, id, event, fx),
    }
}

/// `len` bytes of the caller's memory at `addr` (a `Call`'s borrowed argument; see the module
/// docs: only `ThreadCtx`'s functions build `Call`s, from borrows).
fn caller_bytes<'a>(addr: u64, len: u64) -> &'a [u8] {
    if len == 0 {
        return &[];
    }
    // SAFETY: `addr` and `len` describe a slice the calling thread borrowed to its `ThreadCtx`
    // function for the whole call (the invariant above), in this address space: the call runs
    // in the caller's thread.
    unsafe { std::slice::from_raw_parts(addr as *const u8, len as usize) }
}
