//! The receiving side of an asyncmsg channel: its cached receive arenas ([`RecvChan`]),
//! [`asyncmsg_get`] (one kernel entry per batch) and the [`AsyncBatch`] it returns, whose drop
//! gives the arena back for the next batch. The channel's creation and destruction are api.rs's
//! calls; what a destroy leaves for the recvbuf callback is done from [`Leftover`].

use super::api::Leftover;
use super::library::lib_of;
use crate::current::with_current;
use crate::sys;
use kernel_sim::types::AsyncGetHeader;
use kernel_sim::{Errno, KResult, MsgInfo, ThreadCtx};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A receive-buffer allocation request (the `recvbuf_callback` of asyncmsg_channel_create).
#[derive(Debug)]
pub enum RecvBufOp {
    /// Allocate the receive arena: room for `num_bufs` messages of `bufsize` bytes. Return a
    /// buffer of at least `bufsize * num_bufs` bytes, or `None` (asyncmsg_get then fails with
    /// ENOMEM).
    Alloc {
        /// Bytes per message.
        bufsize: usize,
        /// Messages per batch.
        num_bufs: usize,
    },
    /// The channel is destroyed: these arenas come back.
    Free(Vec<Vec<u8>>),
}

/// The receive-buffer allocator a channel may be given.
pub type RecvBufCallback = Arc<dyn Fn(RecvBufOp) -> Option<Vec<u8>> + Send + Sync>;

pub(super) struct RecvChan {
    /// Set (under `arenas`' lock) when the channel is destroyed: arenas coming back then go
    /// straight to the recvbuf callback (or are dropped).
    pub(super) destroyed: AtomicBool,
    pub(super) buffer_size: usize,
    pub(super) max_num_buffer: u32,
    pub(super) arenas: Mutex<Vec<(Vec<u8>, Vec<AsyncGetHeader>)>>,
    pub(super) recvbuf: Option<RecvBufCallback>,
}

/// A channel destroy, but for giving the cached arenas back to the recvbuf callback: they are
/// left in `left`.
pub(super) fn channel_destroy_in(c: &ThreadCtx, chid: i32, left: &mut Leftover) -> KResult<()> {
    let lib = lib_of(c).map_err(|_| Errno::EINVAL)?;
    let rc = lib
        .chans
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&chid)
        .ok_or(Errno::EINVAL)?;
    sys::channel_destroy(c, chid)?;
    let arenas: Vec<Vec<u8>> = {
        let mut cache = rc.arenas.lock().unwrap_or_else(|p| p.into_inner());
        rc.destroyed.store(true, Ordering::Release);
        cache.drain(..).map(|(a, _)| a).collect()
    };
    left.arenas = Some((rc, arenas));
    Ok(())
}

/// A batch of messages from [`asyncmsg_get`]. Dropping it (or [`asyncmsg_free`]) gives its
/// buffers back to the channel for the next batch.
pub struct AsyncBatch {
    n: usize,
    arena: Vec<u8>,
    hdrs: Vec<AsyncGetHeader>,
    chan: Arc<RecvChan>,
}

impl std::fmt::Debug for AsyncBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncBatch")
            .field("messages", &self.n)
            .finish()
    }
}

/// One message of a batch (`struct _asyncmsg_get_header`).
#[derive(Debug, Clone, Copy)]
pub struct AsyncMsg<'a> {
    /// Who sent it (pid, chid, coid, scoid), `msglen` (bytes here), `srcmsglen` (bytes sent).
    pub info: MsgInfo,
    /// 0, or this message's error (EMSGSIZE: longer than the channel's buffer size; no data).
    pub err: i32,
    /// The message.
    pub data: &'a [u8],
}

impl AsyncBatch {
    /// Messages in the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Message `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<AsyncMsg<'_>> {
        let h = self.hdrs[..self.n].get(i)?;
        let o = h.offset as usize;
        Some(AsyncMsg {
            info: h.info,
            err: h.err,
            data: &self.arena[o..o + h.len as usize],
        })
    }

    /// The messages, in the order they were taken.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = AsyncMsg<'_>> + '_ {
        (0..self.n).filter_map(|i| self.get(i))
    }
}

impl Drop for AsyncBatch {
    fn drop(&mut self) {
        let arena = std::mem::take(&mut self.arena);
        let hdrs = std::mem::take(&mut self.hdrs);
        let mut cache = self.chan.arenas.lock().unwrap_or_else(|p| p.into_inner());
        if !self.chan.destroyed.load(Ordering::Acquire) {
            cache.push((arena, hdrs));
            return;
        }
        drop(cache);
        // The channel is gone: the arena goes back to whoever allocated it.
        if let Some(cb) = &self.chan.recvbuf {
            cb(RecvBufOp::Free(vec![arena]));
        }
    }
}

/// `asyncmsg_get(chid)`: up to `max_num_buffer` messages in one kernel entry, per-connection
/// FIFO, round-robin across connections. Blocks (RECEIVE-blocked; TimerTimeout applies) while
/// none are ready, unless the channel is `_NTO_CHF_ASYNC_NONBLOCK` (EAGAIN). EBADF unknown
/// channel; ENOMEM the recvbuf callback gave no buffer.
pub fn asyncmsg_get(chid: i32) -> KResult<AsyncBatch> {
    with_current(|c| {
        let lib = lib_of(c)?;
        let chan = lib.chan(chid)?;
        let cached = chan.arenas.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let (mut arena, mut hdrs) = match cached {
            Some(a) => a,
            None => {
                let (bufsize, num) = (chan.buffer_size, chan.max_num_buffer as usize);
                let total = bufsize.checked_mul(num).ok_or(Errno::ENOMEM)?;
                let arena = match &chan.recvbuf {
                    Some(cb) => cb(RecvBufOp::Alloc {
                        bufsize,
                        num_bufs: num,
                    })
                    .filter(|a| a.len() >= total)
                    .ok_or(Errno::ENOMEM)?,
                    None => zeroed(total, 0u8)?,
                };
                (arena, zeroed(num, AsyncGetHeader::default())?)
            }
        };
        match sys::msg_receive_async(c, chid, &mut arena, &mut hdrs) {
            Ok(n) => Ok(AsyncBatch {
                n,
                arena,
                hdrs,
                chan,
            }),
            Err(e) => {
                chan.arenas
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((arena, hdrs));
                Err(e)
            }
        }
    })
}

/// `n` copies of `v`, or ENOMEM when the memory cannot be had (instead of aborting).
fn zeroed<T: Clone>(n: usize, v: T) -> KResult<Vec<T>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    out.resize(n, v);
    Ok(out)
}

/// `asyncmsg_free(batch)`: gives a batch's buffers back (what dropping it does).
pub fn asyncmsg_free(batch: AsyncBatch) {
    drop(batch);
}
