//! The user side of each kernel call: build the [`Call`] from the caller's arguments and
//! borrows, enter ([`ThreadCtx::call`](super::ThreadCtx)), and shape the result.

use super::os::current_cpu;
use super::ThreadCtx;
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::{Iov, MsgInfo, RcvId, SigEvent, TimerInfo};
use crate::calls;
use crate::copy::IovList;
use crate::syscalls::Call;
use crate::wait::{Clock, Deadline};

impl ThreadCtx {
    // ---------------------------------------------------------------- channels

    /// ChannelCreate: returns a chid.
    pub fn channel_create(&self, flags: u32) -> KResult<i32> {
        self.call(Call::ChannelCreate { flags }).map(|v| v as i32)
    }

    /// ChannelDestroy.
    pub fn channel_destroy(&self, chid: i32) -> KResult<()> {
        self.call(Call::ChannelDestroy { chid }).map(drop)
    }

    // ---------------------------------------------------------------- connections

    /// ConnectAttach: returns a coid.
    pub fn connect_attach(
        &self,
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
    ) -> KResult<i32> {
        self.call(Call::ConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
        })
        .map(|v| v as i32)
    }

    /// ConnectDetach (of a coid, or of a scoid whose client is gone).
    pub fn connect_detach(&self, coid: i32) -> KResult<()> {
        self.call(Call::ConnectDetach { coid }).map(drop)
    }

    /// ConnectClientInfo's kernel half: the client process behind this process's server
    /// connection `scoid` (-1: this process), as `(pid, linux_pid)`: its pid, and the Linux
    /// process its memory is in (a shared kernel's program; in a kernel of one Linux process,
    /// this one's). The credentials are Linux's to give (`/proc/<linux_pid>/status`): the
    /// kernel keeps none. EINVAL no such scoid of ours (a coid; freed by our ConnectDetach, by
    /// the client's last detach from a channel without `_NTO_CHF_DISCONNECT`, or with its
    /// channel); ESRCH the scoid is still there but its client process has ended.
    pub fn connect_client_info(&self, scoid: i32) -> KResult<(i32, i32)> {
        let v = self.call(Call::ConnectClientInfo { scoid })?;
        let os_pid = v as u32 as i32;
        let linux_pid = if os_pid == 0 {
            std::process::id() as i32
        } else {
            os_pid
        };
        Ok(((v >> 32) as i32, linux_pid))
    }

    /// ConnectServerInfo: the first connection of process `pid` (0: ours; any process of the
    /// kernel may be inspected) at or after `coid`, fd-space coids first, then side-channel
    /// coids (server connections are skipped): its coid and its `_server_info` (`nd`, the
    /// server's `pid`, `chid`, `scoid` (0 once the channel is gone), `coid`, `flags`:
    /// `_NTO_COF_CLOEXEC`, `_NTO_COF_DEAD` once the channel is gone; the rest 0). Iterate with
    /// `coid + 1`. ESRCH no process `pid`; EINVAL no connection at or after `coid` (or `coid`
    /// negative).
    pub fn connect_server_info(&self, pid: i32, coid: i32) -> KResult<(i32, MsgInfo)> {
        let mut info = MsgInfo::default();
        let found = self.call(Call::ConnectServerInfo {
            pid,
            coid,
            info: &mut info as *mut MsgInfo as u64,
        })?;
        Ok((found as i32, info))
    }

    /// ConnectFlags: sets the flags of process `pid`'s (0: ours) connection `coid` that `mask`
    /// selects to their values in `bits`, and returns the flags as they were. Only
    /// `_NTO_COF_CLOEXEC` may be changed (`mask` 0 only asks); the flags are the connection's,
    /// shared by every coid linked to it. ESRCH no process `pid`; EBADF `coid` is not one of its
    /// client connections; ENOTSUP `mask` names another flag.
    pub fn connect_flags(&self, pid: i32, coid: i32, mask: u32, bits: u32) -> KResult<u32> {
        self.call(Call::ConnectFlags {
            pid,
            coid,
            mask,
            bits,
        })
        .map(|v| v as u32)
    }

    // ---------------------------------------------------------------- send / receive / reply

    /// MsgSendv over raw iovs: returns the server's reply status.
    ///
    /// # Safety
    /// Every iov must describe memory valid for reads (`siov`) or writes (`riov`) for the whole
    /// call, not otherwise accessed meanwhile. (The kernel rejects null bases with EFAULT and
    /// overflowing lengths with EOVERFLOW before touching anything.)
    pub unsafe fn msg_sendv_raw(&self, coid: i32, siov: &[Iov], riov: &[Iov]) -> KResult<i64> {
        self.call(Call::MsgSend {
            coid,
            smsg: IovList::new(siov),
            rmsg: IovList::new(riov),
        })
    }

    /// MsgSend: sends `smsg`, returns the reply status; the reply lands in `rmsg`.
    pub fn msg_send(&self, coid: i32, smsg: &[u8], rmsg: &mut [u8]) -> KResult<i64> {
        let s = [Iov::from_slice(smsg)];
        let r = [Iov::from_mut_slice(rmsg)];
        // SAFETY: the iovs describe our two borrowed slices, alive and unaliased for the call.
        unsafe { self.msg_sendv_raw(coid, &s, &r) }
    }

    /// MsgSendv over slices: gathers `smsg`, scatters the reply into `rmsg`.
    pub fn msg_sendv(&self, coid: i32, smsg: &[&[u8]], rmsg: &mut [&mut [u8]]) -> KResult<i64> {
        let s: smallvec::SmallVec<[Iov; 4]> = smsg.iter().map(|b| Iov::from_slice(b)).collect();
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices, alive and unaliased for the call.
        unsafe { self.msg_sendv_raw(coid, &s, &r) }
    }

    /// MsgReceivev over raw iovs: returns an rcvid (> 0) for a message, 0 for a pulse.
    ///
    /// # Safety
    /// The iovs must describe memory valid for writes for the whole call.
    pub unsafe fn msg_receivev_raw(
        &self,
        chid: i32,
        riov: &[Iov],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(riov),
            info: info.map_or(0, |i| i as *mut MsgInfo as u64),
            pulse_only: false,
        })
    }

    /// MsgReceive: returns an rcvid (> 0) for a message, 0 for a pulse (the buffer then holds a
    /// `struct _pulse`).
    pub fn msg_receive(
        &self,
        chid: i32,
        rmsg: &mut [u8],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        let r = [Iov::from_mut_slice(rmsg)];
        // SAFETY: the iov describes our borrowed slice.
        unsafe { self.msg_receivev_raw(chid, &r, info) }
    }

    /// MsgReceivev over slices.
    pub fn msg_receivev(
        &self,
        chid: i32,
        rmsg: &mut [&mut [u8]],
        info: Option<&mut MsgInfo>,
    ) -> KResult<RcvId> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices.
        unsafe { self.msg_receivev_raw(chid, &r, info) }
    }

    /// MsgReceivePulse: like MsgReceive, but takes only pulses (messages stay queued).
    pub fn msg_receive_pulse(&self, chid: i32, rmsg: &mut [u8]) -> KResult<()> {
        let r = [Iov::from_mut_slice(rmsg)];
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(&r),
            info: 0,
            pulse_only: true,
        })
        .map(drop)
    }

    /// MsgReceivePulsev: only pulses, into scattered buffers.
    pub fn msg_receive_pulsev(&self, chid: i32, rmsg: &mut [&mut [u8]]) -> KResult<()> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            rmsg.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        self.call(Call::MsgReceive {
            chid,
            rmsg: IovList::new(&r),
            info: 0,
            pulse_only: true,
        })
        .map(drop)
    }

    /// MsgReplyv over raw iovs.
    ///
    /// # Safety
    /// The iovs must describe memory valid for reads for the whole call.
    pub unsafe fn msg_replyv_raw(&self, rcvid: RcvId, status: i64, iov: &[Iov]) -> KResult<()> {
        self.call(Call::MsgReply {
            rcvid,
            status,
            smsg: IovList::new(iov),
        })
        .map(drop)
    }

    /// MsgReply: the client's MsgSend returns `status`; `msg` lands in its reply buffer.
    pub fn msg_reply(&self, rcvid: RcvId, status: i64, msg: &[u8]) -> KResult<()> {
        let s = [Iov::from_slice(msg)];
        // SAFETY: the iov describes our borrowed slice.
        unsafe { self.msg_replyv_raw(rcvid, status, &s) }
    }

    /// MsgReplyv over slices.
    pub fn msg_replyv(&self, rcvid: RcvId, status: i64, msg: &[&[u8]]) -> KResult<()> {
        let s: smallvec::SmallVec<[Iov; 4]> = msg.iter().map(|b| Iov::from_slice(b)).collect();
        // SAFETY: the iovs describe borrowed slices.
        unsafe { self.msg_replyv_raw(rcvid, status, &s) }
    }

    /// MsgError: the client's MsgSend fails with `err` (EOK: returns 0; ERESTART: re-sends).
    pub fn msg_error(&self, rcvid: RcvId, err: Errno) -> KResult<()> {
        self.call(Call::MsgError { rcvid, err: err.0 }).map(drop)
    }

    /// MsgRead: copies the client's message from `offset`; returns bytes copied.
    pub fn msg_read(&self, rcvid: RcvId, buf: &mut [u8], offset: usize) -> KResult<usize> {
        let r = [Iov::from_mut_slice(buf)];
        self.call(Call::MsgRead {
            rcvid,
            dst: IovList::new(&r),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgReadv over slices.
    pub fn msg_readv(&self, rcvid: RcvId, bufs: &mut [&mut [u8]], offset: usize) -> KResult<usize> {
        let r: smallvec::SmallVec<[Iov; 4]> =
            bufs.iter_mut().map(|b| Iov::from_mut_slice(b)).collect();
        self.call(Call::MsgRead {
            rcvid,
            dst: IovList::new(&r),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgWrite: copies `buf` into the client's reply buffer at `offset`; returns bytes copied.
    pub fn msg_write(&self, rcvid: RcvId, buf: &[u8], offset: usize) -> KResult<usize> {
        let s = [Iov::from_slice(buf)];
        self.call(Call::MsgWrite {
            rcvid,
            src: IovList::new(&s),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgWritev over slices.
    pub fn msg_writev(&self, rcvid: RcvId, bufs: &[&[u8]], offset: usize) -> KResult<usize> {
        let s: smallvec::SmallVec<[Iov; 4]> = bufs.iter().map(|b| Iov::from_slice(b)).collect();
        self.call(Call::MsgWrite {
            rcvid,
            src: IovList::new(&s),
            offset: offset as u64,
        })
        .map(|v| v as usize)
    }

    /// MsgInfo: the `MsgInfo` of a REPLY-blocked client's message.
    pub fn msg_info(&self, rcvid: RcvId) -> KResult<MsgInfo> {
        let mut info = MsgInfo::default();
        self.call(Call::MsgInfo {
            rcvid,
            info: &mut info as *mut MsgInfo as u64,
        })?;
        Ok(info)
    }

    /// MsgCurrent: this thread resumes work on client `rcvid`'s message and, unless the
    /// channel is `_NTO_CHF_FIXED_PRIORITY`, takes the client's priority (down as well as up).
    /// ESRCH: `rcvid` names no client REPLY-blocked on a channel of this process.
    pub fn msg_current(&self, rcvid: RcvId) -> KResult<()> {
        self.call(Call::MsgCurrent { rcvid }).map(drop)
    }

    /// MsgSendPulse: `prio` -1 means the caller's priority; `code` 0..=127.
    pub fn msg_send_pulse(&self, coid: i32, prio: i16, code: i8, value: i32) -> KResult<()> {
        self.call(Call::MsgSendPulse {
            coid,
            prio: i32::from(prio),
            code: i32::from(code),
            value,
        })
        .map(drop)
    }

    // ---------------------------------------------------------------- threads

    /// Sets this thread's priority (1..=255); returns the previous one.
    pub fn set_priority(&self, prio: i16) -> KResult<i16> {
        self.call(Call::SetPriority {
            prio: i32::from(prio),
        })
        .map(|v| v as i16)
    }

    /// SchedGet(pid, tid): thread `tid` of process `pid` (0: ours; `tid` 0: this thread, `pid`
    /// then ignored, as QNX ignores it): its policy (QNX's number, `consts::SCHED_RR`, ...),
    /// base priority (what it was set to: QNX's `sched_priority`) and current priority (after
    /// inheritance and boost: QNX's `sched_curpriority`). ESRCH: no such thread.
    pub fn sched_get(&self, pid: i32, tid: i32) -> KResult<(i32, i16, i16)> {
        let v = self.call(Call::SchedGet { pid, tid })?;
        Ok((
            (v >> 16) as i32,
            ((v >> 8) & 0xff) as i16,
            (v & 0xff) as i16,
        ))
    }

    /// SchedSet(pid, tid, policy, prio): sets the policy (`consts::SCHED_FIFO`, `SCHED_RR`,
    /// `SCHED_OTHER`; `SCHED_NOCHANGE` keeps it) and base priority (1..=255) of the thread
    /// [`ThreadCtx::sched_get`] would name, which may be another process's. Its current
    /// priority follows as it does for [`ThreadCtx::set_priority`]. Returns the previous
    /// current priority. ESRCH no such thread; EINVAL a bad policy or priority; ENOTSUP
    /// `SCHED_SPORADIC`.
    pub fn sched_set(&self, pid: i32, tid: i32, policy: i32, prio: i16) -> KResult<i16> {
        self.call(Call::SchedSet {
            pid,
            tid,
            policy,
            prio: i32::from(prio),
        })
        .map(|v| v as i16)
    }

    /// The tid of the thread of this thread's process that the Linux thread `os_tid` runs
    /// (the one it registered with, or [`ThreadCtx::adopt_os_thread`] recorded), for a C
    /// library that knows a thread by its `pthread_t`; the library's own threads are not
    /// counted. A thread attached for another (`userlib::spawn`) carries its maker's Linux tid
    /// until it adopts its own, so of two the older (lower tid) is the one. ESRCH: none (that
    /// Linux thread never entered this kernel, or left it).
    pub fn tid_of_os_thread(&self, os_tid: i32) -> KResult<i32> {
        let proc = self.me.proc;
        if os_tid <= 0 {
            return Err(Errno::ESRCH);
        }
        self.k
            .locked(|t| {
                let p = t.procs.get(proc)?;
                let mut found: Option<i32> = None;
                let mut i = p.threads;
                while i != crate::pool::NIL {
                    let th = t.threads.at(i);
                    if th.os_tid == os_tid && !th.internal && !th.zombie {
                        found = Some(found.map_or(th.tid, |f| f.min(th.tid)));
                    }
                    i = th.pnext;
                }
                found
            })
            .ok_or(Errno::ESRCH)
    }

    /// This thread's base and current priority.
    pub fn priority(&self) -> KResult<(u8, u8)> {
        let me = self.me.thread;
        self.k
            .locked(|t| t.threads.get(me).map(|th| (th.base_prio, th.prio)))
            .ok_or(Errno::ESRCH)
    }

    /// TimerTimeout: arms a one-shot kernel timeout for this thread's next kernel call.
    /// `clock` is `CLOCK_MONOTONIC` or `CLOCK_REALTIME` (Linux's ids), `flags` the
    /// `_NTO_TIMEOUT_*` states (plus `TIMER_ABSTIME`), `ntime` nanoseconds (`None`: time out at
    /// once instead of blocking). Returns the flags that were armed before.
    pub fn timer_timeout(&self, clock: i32, flags: u32, ntime: Option<u64>) -> KResult<u32> {
        self.timer_timeout_event(clock, flags, None, ntime)
    }

    /// TimerTimeout with a notification event: `None` or `SIGEV_UNBLOCK` makes expiry end the
    /// call with ETIMEDOUT; another event is delivered to this thread on expiry and the call
    /// goes on waiting. With `_NTO_TIMEOUT_NANOSLEEP`, see [`Self::timer_timeout_otime`].
    pub fn timer_timeout_event(
        &self,
        clock: i32,
        flags: u32,
        event: Option<&SigEvent>,
        ntime: Option<u64>,
    ) -> KResult<u32> {
        self.timer_timeout_otime(clock, flags, event, ntime, None)
    }

    /// TimerTimeout with its `otime`, which only `_NTO_TIMEOUT_NANOSLEEP` uses: with that flag
    /// the call itself sleeps until `ntime` (ns from now, or the time on `clock` with
    /// `TIMER_ABSTIME`), the kernel side of QNX's nanosleep(), and returns 0 (QNX's result,
    /// which its nanosleep() returns as its own); `ntime` `None` or already past returns 0 at
    /// once. The thread sleeps in the kernel, NANOSLEEP-blocked as QNX shows it; an event other
    /// than `SIGEV_UNBLOCK` is delivered when the time comes. A signal handler that runs in the
    /// thread ends the sleep with EINTR (a `SIGEV_UNBLOCK` event delivered to it, with
    /// ETIMEDOUT), and writes the time that was left to `otime`. The sleep leaves nothing
    /// armed.
    pub fn timer_timeout_otime(
        &self,
        clock: i32,
        flags: u32,
        event: Option<&SigEvent>,
        ntime: Option<u64>,
        otime: Option<&mut u64>,
    ) -> KResult<u32> {
        let wclock = match clock {
            crate::abi::consts::CLOCK_REALTIME => Clock::Realtime,
            _ => Clock::Monotonic,
        };
        let now = Deadline::now_ns(wclock);
        let ev = event.copied();
        let req = calls::timeout::TimeoutRequest {
            clock,
            flags,
            event: ev,
            ntime,
            now,
        };
        let r = self.call(Call::TimerTimeout(req)).map(|v| v as u32);
        if flags & crate::abi::consts::_NTO_TIMEOUT_NANOSLEEP == 0 || r.is_ok() {
            return r;
        }
        if let (Some(ns), Some(o)) = (ntime, otime) {
            let deadline = if flags & crate::abi::consts::TIMER_ABSTIME != 0 {
                ns
            } else {
                now.saturating_add(ns)
            };
            *o = deadline.saturating_sub(Deadline::now_ns(wclock));
        }
        r
    }

    // ---------------------------------------------------------------- events

    /// MsgDeliverEvent: delivers `event` to the client `rcvid` names (it need not be
    /// REPLY-blocked; rcvid 0 is this thread).
    pub fn msg_deliver_event(&self, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
        self.call(Call::MsgDeliverEvent {
            rcvid,
            event: *event,
        })
        .map(drop)
    }

    /// MsgVerifyEvent: checks that `event` could be delivered to the client `rcvid` names.
    pub fn msg_verify_event(&self, rcvid: RcvId, event: &SigEvent) -> KResult<()> {
        self.call(Call::MsgVerifyEvent {
            rcvid,
            event: *event,
        })
        .map(drop)
    }

    /// SignalKill(nd, pid, tid, signo, code, value): sends `signo` to process `pid` (0: ours)
    /// or, with `tid` non-zero, to that thread of it; `signo` 0 only checks that the target
    /// exists. A handled signal runs its handler in the target's thread; an ignored one does
    /// nothing; one whose default action ends a process ends the simulated process only.
    #[allow(clippy::too_many_arguments)] // SignalKill's own arguments
    pub fn signal_kill(
        &self,
        nd: u32,
        pid: i32,
        tid: i32,
        signo: i32,
        code: i32,
        value: i32,
    ) -> KResult<()> {
        self.call(Call::SignalKill {
            nd,
            pid,
            tid,
            signo,
            code,
            value,
        })
        .map(drop)
    }

    /// ThreadCancel(tid): cancels thread `tid` of this thread's process in the kernel (what a
    /// C program's `pthread_cancel` does after marking the thread in glibc): the cancellation
    /// point it is blocked in ends with ECANCELED, or its next one does ([`crate::cancel`]).
    /// ESRCH no such thread.
    pub fn thread_cancel(&self, tid: i32) -> KResult<()> {
        self.call(Call::ThreadCancel { tid }).map(drop)
    }

    // ---------------------------------------------------------------- asyncmsg

    /// asyncmsg_channel_create's kernel call: an asyncmsg channel whose receives take up to
    /// `max_num_buffer` messages of at most `buffer_size` bytes; `event` (delivered to this
    /// thread) announces messages to a receiver that waits elsewhere.
    pub fn async_channel_create(
        &self,
        flags: u32,
        buffer_size: usize,
        max_num_buffer: u32,
        event: Option<&SigEvent>,
    ) -> KResult<i32> {
        self.call(Call::AsyncChannelCreate {
            flags,
            buffer_size: buffer_size as u64,
            max_num_buffer,
            event: event.copied(),
        })
        .map(|v| v as i32)
    }

    /// asyncmsg_connect_attach's kernel call: a connection whose messages the kernel takes
    /// from `queue`, pulsing this process's asyncmsg library on `notify_coid` (-1: never)
    /// when it takes some.
    ///
    /// # Safety
    /// `queue` must stay alive (not moved, not dropped) until the connection is detached, and
    /// every message descriptor pushed on it must stay valid until its slot is released.
    #[allow(clippy::too_many_arguments)] // ConnectAttachExt's own arguments
    pub unsafe fn async_connect_attach(
        &self,
        nd: u32,
        pid: i32,
        chid: i32,
        index: u32,
        flags: u32,
        queue: &crate::abi::asyncq::AsyncQueue,
        notify_coid: i32,
    ) -> KResult<i32> {
        // Our caller's promise about `queue` is the one the call's dispatch relies on.
        self.call(Call::AsyncConnectAttach {
            nd,
            pid,
            chid,
            index,
            flags,
            queue: queue.kernel_handle(),
            notify_coid,
        })
        .map(|v| v as i32)
    }

    /// A sender queue of `capacity` slots in the region of a shared kernel, for an asyncmsg
    /// connection to a channel of any program of the kernel: the kernel, running in the
    /// receiver's thread, reads it there. Free it with [`ThreadCtx::async_queue_free`] once its
    /// connection is detached (the kernel frees a process's blocks when it ends). ENOTSUP in a
    /// kernel of one program (use [`crate::asyncq::AsyncQueue::new`]), ENOMEM when the
    /// region's queue pages (`Config::async_queue_pages`) are used up.
    pub fn async_queue_alloc(&self, capacity: u32) -> KResult<crate::abi::asyncq::AsyncQueue> {
        let off = self.call(Call::AsyncQueueAlloc { capacity })? as u64;
        // SAFETY: the kernel formatted a queue of `capacity` slots in the block at `off` of
        // the arena, ours until we free it; the handle keeps a handle on the kernel, so the
        // region stays mapped while the queue's handle lives.
        Ok(unsafe {
            crate::abi::asyncq::AsyncQueue::in_block(self.k.queue_block(off), capacity, off)
        }
        .keeping(self.k.clone()))
    }

    /// Frees a queue [`ThreadCtx::async_queue_alloc`] gave (EINVAL for any other queue, EBUSY
    /// while a connection still reads it).
    pub fn async_queue_free(&self, queue: &crate::abi::asyncq::AsyncQueue) -> KResult<()> {
        if !queue.in_region() {
            return Err(Errno::EINVAL);
        }
        let offset = queue.kernel_handle() & !crate::abi::asyncq::IN_REGION;
        self.call(Call::AsyncQueueFree { offset }).map(drop)
    }

    /// A block of at least `bytes` bytes (whole pages) of a shared kernel's queue arena, for
    /// the asyncmsg library's send buffers: a message whose bytes lie in a block of its
    /// sender's is taken from the region without a system call. Returns the block's offset in
    /// the arena and its address in this mapping (valid while the kernel handle lives). Free
    /// it with [`ThreadCtx::async_heap_free`] (the kernel frees a process's blocks when it
    /// ends). ENOTSUP in a kernel of one program, EINVAL for 0 bytes, ENOMEM when the region's
    /// queue pages (`Config::async_queue_pages`) are used up.
    pub fn async_heap_alloc(&self, bytes: u64) -> KResult<(u64, *mut u8)> {
        let off = self.call(Call::AsyncHeapAlloc { bytes })? as u64;
        Ok((off, self.k.queue_block(off)))
    }

    /// Frees a block [`ThreadCtx::async_heap_alloc`] gave (EINVAL if no block of the calling
    /// process starts at `offset`).
    pub fn async_heap_free(&self, offset: u64) -> KResult<()> {
        self.call(Call::AsyncHeapFree { offset }).map(drop)
    }

    /// MsgSendAsync: the asyncmsg trigger (one kernel entry per batch). Returns the messages
    /// pending on the connection.
    pub fn msg_send_async(&self, coid: i32) -> KResult<u32> {
        self.call(Call::MsgSendAsync {
            coid,
            queue: None,
            cpu: current_cpu(),
        })
        .map(|v| v as u32)
    }

    /// [`ThreadCtx::msg_send_async`] for the connection whose queue is `queue`: EBADF if `coid`
    /// names another connection now (the one a caller looked up was detached and its coid
    /// reused), so that a trigger never reaches a connection it was not meant for.
    pub fn msg_send_async_on(
        &self,
        coid: i32,
        queue: &crate::abi::asyncq::AsyncQueue,
    ) -> KResult<u32> {
        self.call(Call::MsgSendAsync {
            coid,
            queue: Some(queue.kernel_handle()),
            cpu: current_cpu(),
        })
        .map(|v| v as u32)
    }

    /// MsgReceiveAsync: takes up to `hdrs.len()` messages, message `i` in `arena` at
    /// `hdrs[i].offset` (each message gets one buffer of the channel's buffer size). Blocks
    /// until messages are ready, unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN).
    pub fn msg_receive_async(
        &self,
        chid: i32,
        arena: &mut [u8],
        hdrs: &mut [crate::abi::types::AsyncGetHeader],
    ) -> KResult<usize> {
        let a = [Iov::from_mut_slice(arena)];
        self.call(Call::MsgReceiveAsync {
            chid,
            arena: IovList::new(&a),
            hdrs: hdrs.as_mut_ptr() as u64,
            max: u32::try_from(hdrs.len()).unwrap_or(u32::MAX),
        })
        .map(|v| v as usize)
    }

    /// The kernel's counters of asyncmsg connection `coid`.
    pub fn async_conn_counters(&self, coid: i32) -> KResult<crate::abi::types::AsyncConnCounters> {
        let me = self.me;
        self.k
            .locked(|t| calls::asyncmsg::conn_counters(t, me, coid))
    }

    // ---------------------------------------------------------------- interrupts

    /// InterruptAttachEvent: attaches `event` to interrupt level `level` (0 to 255) for this
    /// thread: each raise of the level masks it and delivers the event (`SIGEV_INTR`: to this
    /// thread's InterruptWait), until InterruptUnmask. `flags`: `_NTO_INTR_FLAGS_*`. Returns
    /// the attachment's id. EINVAL bad level, flags or event; EBUSY an exclusive attachment
    /// stands in the way; EAGAIN none left.
    pub fn interrupt_attach_event(&self, level: i32, event: &SigEvent, flags: u32) -> KResult<i32> {
        self.call(Call::InterruptAttach {
            level,
            handler: false,
            event: Some(*event),
            flags,
        })
        .map(|v| v as i32)
    }

    /// InterruptAttach's kernel half: attaches a handler of this process to level `level`, to
    /// be run by the process's interrupt service thread ([`ThreadCtx::interrupt_service_wait`])
    /// with the level masked; the event it returns goes to this thread. Returns the id. The
    /// handler itself is the library's business (userlib's `interrupt_attach`). Errors as
    /// [`ThreadCtx::interrupt_attach_event`].
    pub fn interrupt_attach_handler(&self, level: i32, flags: u32) -> KResult<i32> {
        self.call(Call::InterruptAttach {
            level,
            handler: true,
            event: None,
            flags,
        })
        .map(|v| v as i32)
    }

    /// InterruptDetach: EINVAL if `id` names no attachment of this process. The masks the
    /// attachment holds are given back with `_NTO_INTR_FLAGS_TRK_MSK`.
    pub fn interrupt_detach(&self, id: i32) -> KResult<()> {
        self.call(Call::InterruptDetach { id }).map(|_| ())
    }

    /// InterruptMask: masks `level` once more, for attachment `id` (or -1); returns the level's
    /// mask count. EINVAL bad level, or an id not of this process's on that level.
    pub fn interrupt_mask(&self, level: i32, id: i32) -> KResult<u32> {
        self.call(Call::InterruptMask { level, id })
            .map(|v| v as u32)
    }

    /// InterruptUnmask: unmasks `level` once (a request latched while masked is delivered when
    /// the count reaches 0); returns the level's mask count. Errors as
    /// [`ThreadCtx::interrupt_mask`].
    pub fn interrupt_unmask(&self, level: i32, id: i32) -> KResult<u32> {
        self.call(Call::InterruptUnmask { level, id })
            .map(|v| v as u32)
    }

    /// InterruptWait: blocks (INTR) until a `SIGEV_INTR` event comes for this thread, or
    /// returns at once if one came since the last wait. `flags`: 0, or (QNX 8)
    /// `_NTO_INTR_WAIT_FLAGS_UNMASK` (first unmask the levels this thread's event attachments
    /// hold masked) and `_NTO_INTR_WAIT_FLAGS_FAST`; EINVAL others. Bounded by TimerTimeout
    /// with `_NTO_TIMEOUT_INTR` (ETIMEDOUT); EINTR a signal.
    pub fn interrupt_wait(&self, flags: u32) -> KResult<()> {
        self.call(Call::InterruptWait { flags }).map(|_| ())
    }

    /// The interrupt service thread's wait (the library's thread that runs this process's
    /// InterruptAttach handlers): returns the id of the attachment whose handler to run next,
    /// blocking (INTR) until there is one. EINTR a signal.
    pub fn interrupt_service_wait(&self) -> KResult<i32> {
        self.call(Call::InterruptServiceWait).map(|v| v as i32)
    }

    /// The service thread ran the handler of attachment `id`, which returned `event`: the
    /// event goes to the attaching thread, and the level's mask for the run is given back.
    /// EINVAL if no run of that attachment is under way (it was detached meanwhile).
    pub fn interrupt_service_done(&self, id: i32, event: Option<&SigEvent>) -> KResult<()> {
        self.call(Call::InterruptServiceDone {
            id,
            event: event.copied(),
        })
        .map(|_| ())
    }

    // ---------------------------------------------------------------- timers

    /// TimerCreate: a disarmed timer on `clock` (Linux's ids) delivering `event` to this
    /// thread (default: SIGALRM with the timer's id as `si_value`; a `SIGEV_SIGNAL_THREAD`
    /// event goes to the thread that last armed the timer). Returns the timer id. (Not
    /// available under loom: ENOSYS.)
    pub fn timer_create(&self, clock: i32, event: Option<&SigEvent>) -> KResult<i32> {
        #[cfg(loom)]
        {
            let _ = (clock, event);
            Err(Errno::ENOSYS)
        }
        #[cfg(not(loom))]
        {
            let id = self.call(Call::TimerCreate {
                clock,
                event: event.copied(),
            })?;
            self.k.ensure_timer_service();
            Ok(id as i32)
        }
    }

    /// TimerSettime: expire after `value` ns (at `value` with `TIMER_ABSTIME` in `flags`), then
    /// every `interval` ns if non-zero; `value` 0 disarms. Arming a `SIGEV_SIGNAL_THREAD`
    /// timer makes this thread the one it signals. Returns the timer's previous state.
    pub fn timer_settime(
        &self,
        id: i32,
        flags: u32,
        value: u64,
        interval: u64,
    ) -> KResult<TimerInfo> {
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut old = TimerInfo::default();
        self.call(Call::TimerSettime {
            id,
            flags,
            value,
            interval,
            now,
            old: &mut old as *mut TimerInfo as u64,
        })?;
        #[cfg(not(loom))]
        self.k.kick_timer_service();
        Ok(old)
    }

    /// TimerInfo: the timer's remaining time (QNX's `otime`), its expiry time on its clock and
    /// period (QNX's `itime`), overruns and deliveries.
    pub fn timer_info(&self, id: i32) -> KResult<TimerInfo> {
        let now = [
            Deadline::now_ns(Clock::Monotonic),
            Deadline::now_ns(Clock::Realtime),
        ];
        let mut out = TimerInfo::default();
        self.call(Call::TimerInfo {
            id,
            now,
            info: &mut out as *mut TimerInfo as u64,
        })?;
        Ok(out)
    }

    /// TimerDestroy.
    pub fn timer_destroy(&self, id: i32) -> KResult<()> {
        self.call(Call::TimerDestroy { id }).map(drop)
    }

    // ---------------------------------------------------------------- names

    /// name_attach's kernel half: `path` names this process's channel `chid`, in the global
    /// name space with `NAME_FLAG_ATTACH_GLOBAL` in `flags`. Returns the name's id (positive).
    /// EINVAL bad flags, an empty path, one starting with `/`, with a `..` component or a NUL,
    /// or a chid not ours; ENAMETOOLONG longer than 127 bytes; EEXIST the name is taken in its
    /// space; EAGAIN no name left (`Config::max_names`).
    pub fn name_attach(&self, chid: i32, path: &[u8], flags: u32) -> KResult<i32> {
        self.call(Call::NameAttach {
            chid,
            flags,
            path: path.as_ptr() as u64,
            len: path.len() as u64,
        })
        .map(|v| v as i32)
    }

    /// name_detach's kernel half: this process's name `id` of its channel `chid` goes (the
    /// channel stays). EINVAL none such, stale, another process's, or another channel's.
    pub fn name_detach(&self, id: i32, chid: i32) -> KResult<()> {
        self.call(Call::NameDetach { id, chid }).map(drop)
    }

    /// name_open's lookup: the process and chid the name `path` leads to (a local name first,
    /// else a global one), and the name's id. EINVAL and ENAMETOOLONG as `name_attach`;
    /// ENOENT no such name.
    pub fn name_lookup(&self, path: &[u8]) -> KResult<(i32, i32, i32)> {
        let mut id = 0i32;
        let v = self.call(Call::NameLookup {
            path: path.as_ptr() as u64,
            len: path.len() as u64,
            id_out: &mut id as *mut i32 as u64,
        })?;
        Ok(((v >> 32) as i32, v as u32 as i32, id))
    }

    // ---------------------------------------------------------------- the path manager

    /// resmgr_attach's kernel half: mountpoint `path` (absolute) leads to this process's
    /// channel `chid`; `handle` is what the server's `_IO_CONNECT` will carry (the resmgr
    /// layer's link id); `file_type` an `_FTYPE_*`; `flags` `_RESMGR_FLAG_*` (mask
    /// `_RESMGR_FLAG_MASK`, 0x031F). The kernel stores the path normalised
    /// ([`crate::normalize_path`]); several entries may share one mountpoint (QNX unions them).
    /// Returns the entry's id (> 0, the names' id space: `name_detach` removes it; it goes with
    /// its channel and its process). EINVAL bad flags, a path empty, relative, with a `..`
    /// component or a NUL, or a chid not ours; ENAMETOOLONG longer than 127 bytes once
    /// normalised; EAGAIN no entry left (`Config::max_names`, shared with names).
    pub fn path_attach(
        &self,
        chid: i32,
        path: &[u8],
        flags: u32,
        file_type: u32,
        handle: u32,
    ) -> KResult<i32> {
        self.call(Call::PathAttach {
            chid,
            flags,
            file_type,
            handle,
            path: path.as_ptr() as u64,
            len: path.len() as u64,
        })
        .map(|v| v as i32)
    }

    /// The `skip`-th (0-based) entry, in resolution order, that a client asking for `path`
    /// (absolute) with file type `file_type` would try; ENOENT when there are no more.
    /// `prefix_len` counts bytes of the **normalised** path ([`crate::normalize_path`]): the
    /// server's path is `normalize_path(path)?[prefix_len..]`.
    ///
    /// Order: longest mountpoint first; on one mountpoint `_RESMGR_FLAG_BEFORE` entries in
    /// attach order, then plain entries newest first, then `_RESMGR_FLAG_AFTER` entries newest
    /// first; a matching `_RESMGR_FLAG_OPAQUE` entry hides shorter mountpoints. An entry
    /// matches its mountpoint exactly, and with `_RESMGR_FLAG_DIR` the paths below it too.
    /// Skipped: entries of this process (unless `_RESMGR_FLAG_SELF`), of a process not alive,
    /// of a file type that does not match (`_FTYPE_ANY` requests match all; `_FTYPE_ALL` or
    /// `_RESMGR_FLAG_FTYPEALL` entries match all; `_RESMGR_FLAG_FTYPEONLY` entries only their
    /// exact type). `/dev/name/local/<name>` and `/dev/name/global/<name>` resolve to that name
    /// (handle: its id, `_FTYPE_NAME`, flags 0, `prefix_len` the whole path). EINVAL and
    /// ENAMETOOLONG as `path_attach`'s path.
    pub fn path_resolve(
        &self,
        path: &[u8],
        file_type: u32,
        skip: u32,
    ) -> KResult<crate::PathEntry> {
        let mut out = crate::PathEntry::default();
        self.call(Call::PathResolve {
            path: path.as_ptr() as u64,
            len: path.len() as u64,
            file_type,
            skip,
            out: &mut out as *mut crate::PathEntry as u64,
        })?;
        Ok(out)
    }
}
