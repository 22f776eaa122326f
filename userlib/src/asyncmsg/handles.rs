//! The typed handles, [`AsyncChannel`] and [`AsyncConnection`]: the public calls with `Drop`
//! doing QNX's clean-up, run as a thread of the owning process wherever the handle is dropped
//! ([`clean_up`]).

use super::api::{
    asyncmsg_channel_create, asyncmsg_connect_attach, asyncmsg_connect_attr,
    asyncmsg_connection_stats, asyncmsg_flush, asyncmsg_flush_timeout, asyncmsg_put,
    asyncmsg_put_timeout, asyncmsg_putv, AsyncBuf, AsyncCallback, AsyncConnAttr, AsyncConnStats,
    AsyncPutError, Leftover,
};
use super::conn::detach_in;
use super::library::{lib_in, Job};
use super::receive::{asyncmsg_get, channel_destroy_in, AsyncBatch};
use crate::current::{self, with_current, with_member, Access};
use crate::sys;
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult, Kernel, Pid, ThreadCtx};
use std::time::Duration;

/// Fails with `foreign` unless the calling thread is a thread of process `pid` on `kernel` (an
/// unbound thread joins that process, as with the other typed handles). A handle's chid or coid
/// means nothing in another process, where the same number may name another channel or
/// connection: the calls below run only after this check.
fn owned(kernel: &Kernel, pid: Pid, foreign: Errno) -> KResult<()> {
    with_member(kernel, pid, |a| match a {
        Access::Member(_) => Ok(()),
        Access::Foreign => Err(foreign),
    })
}

/// An asyncmsg channel owned by a simulated process; destroyed on drop. Its calls run as the
/// calling thread, which must be a thread of that process (an unbound thread joins it); from a
/// thread of another process or kernel they fail with ESRCH.
#[derive(Debug)]
pub struct AsyncChannel {
    chid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl AsyncChannel {
    /// `asyncmsg_channel_create` in the calling thread's process.
    pub fn create(
        flags: u32,
        buffer_size: usize,
        max_num_buffer: u32,
        ev: Option<&SigEvent>,
    ) -> KResult<AsyncChannel> {
        let chid = asyncmsg_channel_create(flags, 0o600, buffer_size, max_num_buffer, ev, None)?;
        let (kernel, pid) = current::current_process()?;
        Ok(AsyncChannel { chid, kernel, pid })
    }

    /// Its chid.
    pub fn chid(&self) -> i32 {
        self.chid
    }

    /// `asyncmsg_get`: the next batch (blocks unless the channel is non-blocking).
    pub fn get(&self) -> KResult<AsyncBatch> {
        owned(&self.kernel, self.pid, Errno::ESRCH)?;
        asyncmsg_get(self.chid)
    }

    /// `asyncmsg_get` bounded by `timeout` (ETIMEDOUT).
    pub fn get_timeout(&self, timeout: Duration) -> KResult<AsyncBatch> {
        owned(&self.kernel, self.pid, Errno::ESRCH)?;
        with_current(|c| sys::timeout(c, _NTO_TIMEOUT_RECEIVE, timeout))?;
        asyncmsg_get(self.chid)
    }
}

impl Drop for AsyncChannel {
    fn drop(&mut self) {
        clean_up(&self.kernel, self.pid, Cleanup::Destroy(self.chid));
    }
}

/// An asyncmsg connection owned by a simulated process; detached on drop (queued messages are
/// discarded and reported to their callbacks with EBADF: flush first to deliver them). Its calls
/// run as the calling thread, which must be a thread of that process (an unbound thread joins
/// it); from a thread of another process or kernel they fail with EBADF (a put gives its buffer
/// back).
#[derive(Debug)]
pub struct AsyncConnection {
    coid: i32,
    kernel: Kernel,
    pid: Pid,
}

impl AsyncConnection {
    /// A side-channel asyncmsg connection from the calling thread's process to `chid` of `pid`.
    pub fn attach(pid: i32, chid: i32, attr: &AsyncConnAttr) -> KResult<AsyncConnection> {
        Self::attach_with(pid, chid, 0, attr)
    }

    /// As [`AsyncConnection::attach`], with connect flags (`_NTO_COF_NONBLOCK`).
    pub fn attach_with(
        pid: i32,
        chid: i32,
        flags: u32,
        attr: &AsyncConnAttr,
    ) -> KResult<AsyncConnection> {
        let coid =
            asyncmsg_connect_attach(ND_LOCAL_NODE, pid, chid, _NTO_SIDE_CHANNEL, flags, attr)?;
        let (kernel, me) = current::current_process()?;
        Ok(AsyncConnection {
            coid,
            kernel,
            pid: me,
        })
    }

    /// Its coid.
    pub fn coid(&self) -> i32 {
        self.coid
    }

    /// EBADF unless the calling thread is one of the owning process's ([`owned`]).
    fn owned(&self) -> KResult<()> {
        owned(&self.kernel, self.pid, Errno::EBADF)
    }

    /// `asyncmsg_put`.
    pub fn put(
        &self,
        buf: Vec<u8>,
        handle: u32,
        call_back: Option<AsyncCallback>,
    ) -> Result<(), AsyncPutError> {
        if let Err(errno) = self.owned() {
            return Err(AsyncPutError {
                errno,
                buf: AsyncBuf::Flat(buf),
            });
        }
        asyncmsg_put(self.coid, buf, handle, call_back)
    }

    /// `asyncmsg_putv`.
    pub fn putv(
        &self,
        parts: Vec<Vec<u8>>,
        handle: u32,
        call_back: Option<AsyncCallback>,
    ) -> Result<(), AsyncPutError> {
        if let Err(errno) = self.owned() {
            return Err(AsyncPutError {
                errno,
                buf: AsyncBuf::Parts(parts),
            });
        }
        asyncmsg_putv(self.coid, parts, handle, call_back)
    }

    /// `asyncmsg_put` waiting at most `timeout` for room.
    pub fn put_timeout(
        &self,
        buf: Vec<u8>,
        handle: u32,
        call_back: Option<AsyncCallback>,
        timeout: Duration,
    ) -> Result<(), AsyncPutError> {
        if let Err(errno) = self.owned() {
            return Err(AsyncPutError {
                errno,
                buf: AsyncBuf::Flat(buf),
            });
        }
        asyncmsg_put_timeout(self.coid, buf, handle, call_back, timeout)
    }

    /// `asyncmsg_flush(coid, 0)`: deliver and wait until the receiver has taken everything.
    pub fn flush(&self) -> KResult<()> {
        self.owned()?;
        asyncmsg_flush(self.coid, 0)
    }

    /// Flush, waiting at most `timeout`.
    pub fn flush_timeout(&self, timeout: Duration) -> KResult<()> {
        self.owned()?;
        asyncmsg_flush_timeout(self.coid, timeout)
    }

    /// The connection's counters.
    pub fn stats(&self) -> KResult<AsyncConnStats> {
        self.owned()?;
        asyncmsg_connection_stats(self.coid)
    }

    /// `asyncmsg_connect_attr`: the attributes, optionally replaced.
    pub fn attr(&self, new_attr: Option<&AsyncConnAttr>) -> KResult<AsyncConnAttr> {
        self.owned()?;
        asyncmsg_connect_attr(self.coid, new_attr)
    }
}

impl Drop for AsyncConnection {
    fn drop(&mut self) {
        clean_up(&self.kernel, self.pid, Cleanup::Detach(self.coid));
    }
}

/// A handle's clean-up.
#[derive(Clone, Copy, Debug)]
pub(super) enum Cleanup {
    /// `asyncmsg_connect_detach(coid)`.
    Detach(i32),
    /// `asyncmsg_channel_destroy(chid)`.
    Destroy(i32),
}

impl Cleanup {
    /// Runs it as thread `c`, but for what it leaves to do outside any lock (`left`).
    fn run_in(self, c: &ThreadCtx, left: &mut Leftover) {
        let _ = match self {
            Cleanup::Detach(coid) => detach_in(c, coid, left),
            Cleanup::Destroy(chid) => channel_destroy_in(c, chid, left),
        };
    }

    /// Runs it all as thread `c`.
    pub(super) fn run(self, c: &ThreadCtx) {
        let mut left = Leftover::default();
        self.run_in(c, &mut left);
        left.finish();
    }
}

/// Cleans up a handle of process `pid` on `kernel`, as a thread of that process (its objects
/// are named in its tables): the calling thread if it is one; otherwise, for a thread of
/// another process or of none, the library's helper thread, one kernel thread per process that
/// stays until the library ends. (A kernel thread attached for the clean-up alone would end
/// right after, and its end would send the process a thread-death pulse for a thread it never
/// made.) The clean-up is done when this returns, unless no helper could be attached (the
/// thread pool is full): the library thread then does it at its next wake-up.
fn clean_up(kernel: &Kernel, pid: Pid, what: Cleanup) {
    if crate::current::as_member(kernel, pid, |c| what.run(c)).is_ok() {
        return;
    }
    let Some(lib) = lib_in(kernel, pid.pid) else {
        // No library (the program ended it by destroying its channel; its connections went
        // with it, an asyncmsg channel may remain): a thread attached for the purpose.
        crate::current::cleanup_in(kernel, pid, |c| {
            what.run(c);
            Ok(())
        });
        return;
    };
    let mut left = Leftover::default();
    if lib.as_helper(|c| what.run_in(c, &mut left)).is_none() {
        // (It cannot be woken from here: that takes a thread of the process.)
        lib.push(Job::Cleanup(what));
    }
    drop(lib);
    left.finish();
}
