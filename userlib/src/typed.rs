//! Typed handles for Rust programs: [`Channel`], [`Connection`], and [`ReceiveId`], the
//! receive id that must be answered exactly once. `Drop` does QNX's clean-up: a dropped
//! channel is destroyed, a dropped connection detached, and a receive id dropped unanswered is
//! answered with `MsgError(ENOSYS)` so its client never waits forever.
//!
//! A handle belongs to the simulated process that made it. Its calls run as the calling thread,
//! which must be a thread of that process (an unbound thread joins it on first use); from a
//! thread of another process they fail (ESRCH for a channel, EBADF for a connection), as a chid
//! or coid means nothing in another process.
//!
//! ```
//! use userlib::{Channel, Connection, Received};
//!
//! let chan = Channel::create(0)?;
//! let chid = chan.chid();
//! let client = std::thread::spawn(move || -> Result<i64, userlib::Errno> {
//!     let conn = Connection::attach(0, chid)?;    // pid 0: our own process
//!     let mut reply = [0u8; 5];
//!     let status = conn.send(b"hello", &mut reply)?;
//!     assert_eq!(&reply, b"HELLO");
//!     Ok(status)
//! });
//! let mut buf = [0u8; 64];
//! match chan.receive(&mut buf)? {
//!     Received::Message { rcvid, info } => {
//!         let n = info.msglen as usize;
//!         rcvid.reply(n as i64, &buf[..n].to_ascii_uppercase())?;
//!     }
//!     Received::Pulse(p) => panic!("unexpected pulse {p:?}"),
//! }
//! assert_eq!(client.join().unwrap()?, 5);
//! # Ok::<(), userlib::Errno>(())
//! ```
//!
//! # Misuse the compiler refuses
//!
//! A `ReceiveId` is answered once: `reply`, `replyv` and `error` take it.
//!
//! ```compile_fail,E0382
//! fn twice(rcvid: userlib::ReceiveId) {
//!     let _ = rcvid.reply(0, b"once");
//!     let _ = rcvid.error(userlib::Errno::EIO);
//! }
//! ```
//!
//! A kernel thread (`ThreadCtx`) makes its calls from one OS thread at a time: it may be moved
//! to another thread (`Send`), not shared with one (not `Sync`).
//!
//! ```compile_fail,E0277
//! fn shared(ctx: &userlib::ThreadCtx) {
//!     std::thread::scope(|s| {
//!         s.spawn(|| ctx.pid());
//!     });
//! }
//! ```
//!
//! An asyncmsg message borrows its batch's buffer, which goes back to the channel when the
//! batch is dropped: a message cannot outlive it.
//!
//! ```compile_fail,E0597
//! fn first(chan: &userlib::AsyncChannel) -> Vec<u8> {
//!     let data = {
//!         let batch = chan.get().unwrap();
//!         batch.get(0).unwrap().data
//!     };
//!     data.to_vec()
//! }
//! ```

use crate::current::{self, cleanup_in, with_member, Access};
use crate::structs;
use crate::sys;
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::TimerInfo;
use kernel_sim::{Errno, KResult, Kernel, MsgInfo, Pid, Pulse, RcvId, ThreadCtx, PULSE_SIZE};
use std::time::Duration;
use zerocopy::{FromBytes, Immutable, IntoBytes};

fn member<R>(
    kernel: &Kernel,
    pid: Pid,
    foreign: Errno,
    f: impl FnOnce(&ThreadCtx) -> KResult<R>,
) -> KResult<R> {
    with_member(kernel, pid, |a| match a {
        Access::Member(ctx) => f(ctx),
        Access::Foreign => Err(foreign),
    })
}

/// What a receive returned.
#[derive(Debug)]
pub enum Received {
    /// A message: answer it through `rcvid`. `info.msglen` bytes are in the buffer.
    Message {
        /// The receive id to reply to.
        rcvid: ReceiveId,
        /// What the kernel says about the message.
        info: MsgInfo,
    },
    /// A pulse.
    Pulse(Pulse),
}

/// What [`Channel::receive_struct`] returned: a message read into a `T`, or a pulse.
#[derive(Debug)]
pub enum ReceivedStruct<T> {
    /// A message: the struct (zero past the bytes that came: the crate docs, "Message
    /// structs"), the receive id to answer, and the kernel's info (`msglen`: bytes of `T` that
    /// came; `srcmsglen`: bytes the client sent).
    Message {
        /// The message's first `size_of::<T>()` bytes.
        msg: T,
        /// The receive id to reply to.
        rcvid: ReceiveId,
        /// What the kernel says about the message.
        info: MsgInfo,
    },
    /// A pulse.
    Pulse(Pulse),
}

/// A channel owned by a simulated process; destroyed on drop.
#[derive(Debug)]
pub struct Channel {
    chid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl Channel {
    /// `ChannelCreate(flags)` in the calling thread's process.
    pub fn create(flags: u32) -> KResult<Channel> {
        current::with_current(|c| {
            let chid = sys::channel_create(c, flags)?;
            Ok(Channel {
                chid,
                kernel: c.kernel().clone(),
                pid: c.process(),
            })
        })
    }

    /// `ChannelCreate(flags)` in process `proc`, made by a thread of it (the calling thread if it
    /// belongs to `proc` or is unbound, which then joins it).
    pub fn create_in(proc: &crate::Process, flags: u32) -> KResult<Channel> {
        let (kernel, pid) = (proc.kernel().clone(), proc.raw());
        let chid = member(&kernel, pid, Errno::ESRCH, |c| {
            sys::channel_create(c, flags)
        })?;
        Ok(Channel { chid, kernel, pid })
    }

    /// Its chid.
    pub fn chid(&self) -> i32 {
        self.chid
    }

    /// The owning process's pid.
    pub fn pid(&self) -> i32 {
        self.pid.pid
    }

    /// Waits for a message or pulse.
    pub fn receive(&self, buf: &mut [u8]) -> KResult<Received> {
        self.receive_inner(buf, None)
    }

    /// Waits for a message or pulse for at most `timeout` (then ETIMEDOUT).
    pub fn receive_timeout(&self, buf: &mut [u8], timeout: Duration) -> KResult<Received> {
        self.receive_inner(buf, Some(timeout))
    }

    fn receive_inner(&self, buf: &mut [u8], timeout: Option<Duration>) -> KResult<Received> {
        member(&self.kernel, self.pid, Errno::ESRCH, |c| {
            if let Some(t) = timeout {
                sys::timeout(c, _NTO_TIMEOUT_RECEIVE, t)?;
            }
            let mut info = MsgInfo::default();
            let rcvid = sys::msg_receive(c, self.chid, buf, Some(&mut info))?;
            if rcvid == 0 {
                return Ok(Received::Pulse(sys::pulse_in(buf)?));
            }
            Ok(Received::Message {
                rcvid: ReceiveId {
                    rcvid,
                    kernel: self.kernel.clone(),
                    pid: self.pid,
                    answered: false,
                },
                info,
            })
        })
    }

    /// Waits for a message, read into a `T`, or a pulse (received into a buffer with room for
    /// one even when `T` is smaller than a `struct _pulse`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use userlib::zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};
    /// use userlib::{Channel, Connection, ReceivedStruct};
    ///
    /// #[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Debug)]
    /// #[zerocopy(crate = "userlib::zerocopy")]
    /// #[repr(C)]
    /// struct Ping { seq: u32, ttl: u32 }
    ///
    /// let chan = Channel::create(0)?;
    /// let conn = Connection::attach(0, chan.chid())?;
    /// conn.send_pulse(-1, 3, 0)?;
    /// match chan.receive_struct_timeout::<Ping>(Duration::from_secs(5))? {
    ///     ReceivedStruct::Pulse(p) => assert_eq!(p.code, 3),
    ///     ReceivedStruct::Message { msg, rcvid, .. } => rcvid.reply_struct(0, &msg)?,
    /// }
    /// # Ok::<(), userlib::Errno>(())
    /// ```
    pub fn receive_struct<T: FromBytes>(&self) -> KResult<ReceivedStruct<T>> {
        self.receive_struct_inner(None)
    }

    /// [`Channel::receive_struct`] for at most `timeout` (then ETIMEDOUT).
    pub fn receive_struct_timeout<T: FromBytes>(
        &self,
        timeout: Duration,
    ) -> KResult<ReceivedStruct<T>> {
        self.receive_struct_inner(Some(timeout))
    }

    fn receive_struct_inner<T: FromBytes>(
        &self,
        timeout: Option<Duration>,
    ) -> KResult<ReceivedStruct<T>> {
        let mut buf = structs::receive_buf::<T>();
        Ok(match self.receive_inner(&mut buf, timeout)? {
            Received::Pulse(p) => ReceivedStruct::Pulse(p),
            Received::Message { rcvid, mut info } => {
                structs::cap_msglen::<T>(&mut info);
                ReceivedStruct::Message {
                    msg: structs::read(&buf),
                    rcvid,
                    info,
                }
            }
        })
    }

    /// Waits for a pulse only (messages stay queued).
    pub fn receive_pulse(&self) -> KResult<Pulse> {
        member(&self.kernel, self.pid, Errno::ESRCH, |c| {
            let mut b = [0u8; PULSE_SIZE];
            sys::msg_receive_pulse(c, self.chid, &mut b)?;
            sys::pulse_in(&b)
        })
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let chid = self.chid;
        cleanup_in(&self.kernel, self.pid, |c| sys::channel_destroy(c, chid));
    }
}

/// A connection (a coid) owned by a simulated process; detached on drop.
#[derive(Debug)]
pub struct Connection {
    coid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl Connection {
    /// A side-channel connection from the calling thread's process to channel `chid` of process
    /// `pid` (0: the caller's own).
    pub fn attach(pid: i32, chid: i32) -> KResult<Connection> {
        Connection::attach_with(pid, chid, _NTO_SIDE_CHANNEL, 0)
    }

    /// `ConnectAttach(0, pid, chid, index, flags)` from the calling thread's process.
    pub fn attach_with(pid: i32, chid: i32, index: u32, flags: u32) -> KResult<Connection> {
        let (kernel, me) = current::current_process()?;
        let coid = member(&kernel, me, Errno::EBADF, |c| {
            sys::connect_attach(c, ND_LOCAL_NODE, pid, chid, index, flags)
        })?;
        Ok(Connection {
            coid,
            kernel,
            pid: me,
        })
    }

    /// A side-channel connection from process `proc` to `chid` of process `pid`.
    pub fn attach_in(proc: &crate::Process, pid: i32, chid: i32) -> KResult<Connection> {
        let (kernel, me) = (proc.kernel().clone(), proc.raw());
        let coid = member(&kernel, me, Errno::EBADF, |c| {
            sys::connect_attach(c, ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, 0)
        })?;
        Ok(Connection {
            coid,
            kernel,
            pid: me,
        })
    }

    /// Its coid.
    pub fn coid(&self) -> i32 {
        self.coid
    }

    /// `MsgSend`: sends `msg`, waits for the reply in `reply`, returns the reply status.
    pub fn send(&self, msg: &[u8], reply: &mut [u8]) -> KResult<i64> {
        member(&self.kernel, self.pid, Errno::EBADF, |c| {
            sys::msg_send(c, self.coid, msg, reply)
        })
    }

    /// `MsgSend` bounded by `timeout` in the SEND and REPLY states (then ETIMEDOUT; on a channel
    /// with `_NTO_CHF_UNBLOCK` a REPLY-blocked send waits for the server's answer instead).
    pub fn send_timeout(&self, msg: &[u8], reply: &mut [u8], timeout: Duration) -> KResult<i64> {
        member(&self.kernel, self.pid, Errno::EBADF, |c| {
            sys::timeout(c, _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY, timeout)?;
            sys::msg_send(c, self.coid, msg, reply)
        })
    }

    /// `MsgSend` with structs: sends `msg`, returns the reply status and the reply (zero past
    /// the bytes the server replied: QNX does not say how many that was).
    pub fn send_struct<S, R>(&self, msg: &S) -> KResult<(i64, R)>
    where
        S: IntoBytes + Immutable + ?Sized,
        R: FromBytes,
    {
        let mut reply = structs::zeroed(size_of::<R>());
        let status = self.send(msg.as_bytes(), &mut reply)?;
        Ok((status, structs::read(&reply)))
    }

    /// [`Connection::send_struct`] bounded by `timeout`, as [`Connection::send_timeout`] is.
    pub fn send_struct_timeout<S, R>(&self, msg: &S, timeout: Duration) -> KResult<(i64, R)>
    where
        S: IntoBytes + Immutable + ?Sized,
        R: FromBytes,
    {
        let mut reply = structs::zeroed(size_of::<R>());
        let status = self.send_timeout(msg.as_bytes(), &mut reply, timeout)?;
        Ok((status, structs::read(&reply)))
    }

    /// `MsgSendv`: gathers `msg`, scatters the reply into `reply`.
    pub fn sendv(&self, msg: &[&[u8]], reply: &mut [&mut [u8]]) -> KResult<i64> {
        member(&self.kernel, self.pid, Errno::EBADF, |c| {
            sys::msg_sendv(c, self.coid, msg, reply)
        })
    }

    /// `MsgSendPulse`: `priority` -1 is the caller's, else 1..=255; `code` 0..=127 (the
    /// negative codes are the kernel's: EINVAL).
    pub fn send_pulse(&self, priority: i16, code: i8, value: i32) -> KResult<()> {
        member(&self.kernel, self.pid, Errno::EBADF, |c| {
            sys::msg_send_pulse(c, self.coid, priority, code, value)
        })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let coid = self.coid;
        cleanup_in(&self.kernel, self.pid, |c| sys::connect_detach(c, coid));
    }
}

/// A received message's id: answer it once with [`ReceiveId::reply`] or [`ReceiveId::error`].
/// Any thread of the server's process may answer (it is `Send`). Dropped unanswered, it answers
/// with `MsgError(ENOSYS)`; so does a `reply`, `replyv` or `error` that failed (made by a thread
/// of another process: ESRCH), as the handle is gone with it.
#[derive(Debug)]
#[must_use = "a client stays REPLY-blocked until its message is answered"]
pub struct ReceiveId {
    rcvid: RcvId,
    kernel: Kernel,
    pid: Pid,
    answered: bool,
}

impl ReceiveId {
    /// The raw rcvid.
    pub fn rcvid(&self) -> RcvId {
        self.rcvid
    }

    fn with<R>(&self, f: impl FnOnce(&ThreadCtx) -> KResult<R>) -> KResult<R> {
        member(&self.kernel, self.pid, Errno::ESRCH, f)
    }

    /// `MsgReply`: the client's send returns `status` and gets `msg`.
    pub fn reply(mut self, status: i64, msg: &[u8]) -> KResult<()> {
        let r = self.rcvid;
        self.answer(|c| sys::msg_reply(c, r, status, msg))
    }

    /// `MsgReply` with a struct (or a slice of them).
    pub fn reply_struct<T>(self, status: i64, msg: &T) -> KResult<()>
    where
        T: IntoBytes + Immutable + ?Sized,
    {
        self.reply(status, msg.as_bytes())
    }

    /// `MsgReplyv`.
    pub fn replyv(mut self, status: i64, msg: &[&[u8]]) -> KResult<()> {
        let r = self.rcvid;
        self.answer(|c| sys::msg_replyv(c, r, status, msg))
    }

    /// `MsgError`: the client's send fails with `err` (`EOK`: returns 0; `ERESTART`: resends).
    pub fn error(mut self, err: Errno) -> KResult<()> {
        let r = self.rcvid;
        self.answer(|c| sys::msg_error(c, r, err))
    }

    /// Answers through `f`. Only an answer the kernel took counts: one that failed (from a
    /// thread of another process: ESRCH) leaves the rcvid to `Drop`, which answers ENOSYS as a
    /// thread of the server's process, so the client is never left REPLY-blocked. (An rcvid the
    /// kernel no longer knows makes that second answer fail too, harmlessly.)
    fn answer(&mut self, f: impl FnOnce(&ThreadCtx) -> KResult<()>) -> KResult<()> {
        let r = self.with(f);
        self.answered = r.is_ok();
        r
    }

    /// `MsgRead`: more of the client's message, from `offset`.
    pub fn read(&self, buf: &mut [u8], offset: usize) -> KResult<usize> {
        self.with(|c| sys::msg_read(c, self.rcvid, buf, offset))
    }

    /// `MsgRead` into a struct: the struct and the bytes read. Past the end of the client's
    /// message the struct is zero and the count short of `size_of::<T>()`: check it where that
    /// matters, and answer a short message with `error(EBADMSG)` as QNX servers do.
    pub fn read_struct<T: FromBytes>(&self, offset: usize) -> KResult<(T, usize)> {
        let mut buf = structs::zeroed(size_of::<T>());
        let n = self.read(&mut buf, offset)?;
        Ok((structs::read(&buf), n))
    }

    /// `MsgWrite` from a struct: bytes written into the client's reply buffer at `offset`.
    pub fn write_struct<T>(&self, msg: &T, offset: usize) -> KResult<usize>
    where
        T: IntoBytes + Immutable + ?Sized,
    {
        self.write(msg.as_bytes(), offset)
    }

    /// `MsgWrite`: part of the reply, at `offset`, without answering yet.
    pub fn write(&self, buf: &[u8], offset: usize) -> KResult<usize> {
        self.with(|c| sys::msg_write(c, self.rcvid, buf, offset))
    }

    /// `MsgInfo`: the message's info now (e.g. `_NTO_MI_UNBLOCK_REQ` in `flags`).
    pub fn info(&self) -> KResult<MsgInfo> {
        self.with(|c| sys::msg_info(c, self.rcvid))
    }
}

impl Drop for ReceiveId {
    fn drop(&mut self) {
        if !self.answered {
            let r = self.rcvid;
            cleanup_in(&self.kernel, self.pid, |c| {
                sys::msg_error(c, r, Errno::ENOSYS)
            });
        }
    }
}

impl ReceiveId {
    /// A handle that can deliver events to this message's client after the reply (the QNX
    /// pattern: the client sends a `sigevent`, the server replies at once and notifies later).
    pub fn notifier(&self) -> Notifier {
        Notifier {
            rcvid: self.rcvid,
            kernel: self.kernel.clone(),
            pid: self.pid,
        }
    }
}

impl Connection {
    /// A `SIGEV_PULSE` event on this connection: what a client sends a server so the server
    /// can notify it later (`priority` -1 inherits the client thread's priority).
    pub fn pulse_event(&self, priority: i16, code: i8, value: i32) -> SigEvent {
        SigEvent::pulse(self.coid, priority, code, value)
    }
}

/// Delivers events to a client whose message a server received (`MsgDeliverEvent`), before or
/// after the reply. Used from threads of the server's process.
#[derive(Debug, Clone)]
pub struct Notifier {
    rcvid: RcvId,
    kernel: Kernel,
    pid: Pid,
}

impl Notifier {
    /// `MsgDeliverEvent(rcvid, event)`.
    pub fn deliver(&self, event: &SigEvent) -> KResult<()> {
        member(&self.kernel, self.pid, Errno::ESRCH, |c| {
            sys::msg_deliver_event(c, self.rcvid, event)
        })
    }

    /// `MsgVerifyEvent(rcvid, event)`.
    pub fn verify(&self, event: &SigEvent) -> KResult<()> {
        member(&self.kernel, self.pid, Errno::ESRCH, |c| {
            sys::msg_verify_event(c, self.rcvid, event)
        })
    }
}

/// A timer owned by a simulated process, delivering an event (typically a pulse to the
/// process's own channel: the periodic pulse that drives most QNX servers). Destroyed on drop.
///
/// ```
/// use std::time::Duration;
/// use userlib::{Channel, Connection, Received, Timer};
///
/// let chan = Channel::create(0)?;
/// let me = Connection::attach(0, chan.chid())?;
/// let timer = Timer::monotonic(&me.pulse_event(-1, 1, 0))?;
/// timer.start(Duration::from_millis(5), Duration::from_millis(5))?;
/// for _ in 0..3 {
///     match chan.receive_timeout(&mut [0u8; 64], Duration::from_secs(5))? {
///         Received::Pulse(p) => assert_eq!(p.code, 1),
///         Received::Message { .. } => unreachable!(),
///     }
/// }
/// assert!(timer.info()?.fired >= 3);
/// # Ok::<(), userlib::Errno>(())
/// ```
#[derive(Debug)]
pub struct Timer {
    id: i32,
    kernel: Kernel,
    pid: Pid,
}

impl Timer {
    /// A timer on CLOCK_MONOTONIC delivering `event` to the calling thread's process.
    pub fn monotonic(event: &SigEvent) -> KResult<Timer> {
        Timer::create(CLOCK_MONOTONIC, event)
    }

    /// A timer on `clock` (`CLOCK_MONOTONIC` or `CLOCK_REALTIME`, Linux's ids) delivering
    /// `event`.
    pub fn create(clock: i32, event: &SigEvent) -> KResult<Timer> {
        current::with_current(|c| {
            let id = sys::timer_create(c, clock, Some(event))?;
            Ok(Timer {
                id,
                kernel: c.kernel().clone(),
                pid: c.process(),
            })
        })
    }

    /// The timer id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Arms it: first expiry after `first`, then every `period` (zero: once).
    pub fn start(&self, first: Duration, period: Duration) -> KResult<()> {
        member(&self.kernel, self.pid, Errno::EINVAL, |c| {
            sys::timer_start(c, self.id, first, period)
        })
    }

    /// Disarms it.
    pub fn stop(&self) -> KResult<()> {
        member(&self.kernel, self.pid, Errno::EINVAL, |c| {
            sys::timer_stop(c, self.id)
        })
    }

    /// Its remaining time, period, overruns and deliveries.
    pub fn info(&self) -> KResult<TimerInfo> {
        member(&self.kernel, self.pid, Errno::EINVAL, |c| {
            sys::timer_info(c, self.id)
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        let id = self.id;
        cleanup_in(&self.kernel, self.pid, |c| sys::timer_destroy(c, id));
    }
}
