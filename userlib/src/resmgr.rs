//! QNX's resource-manager layer (`<sys/resmgr.h>`): `resmgr_attach` registers a path with the
//! kernel's path manager and binds it to a dispatch handle, whose contexts then turn the I/O
//! messages clients send ([`crate::iomsg`]: `_IO_CONNECT` from `open`, `_IO_READ`,
//! `_IO_WRITE`, `_IO_CLOSE`, ...) into calls of a connect table and an I/O table, with QNX's
//! rules for bindings, combine messages, return values and replies.
//!
//! Two layers here:
//!
//! * [`Resmgr`], the engine, generic over a [`Front`]: the link table (what `resmgr_attach`
//!   made), the bindings (which client connection is bound to which OCB), OCB reference counts
//!   and `close_ocb`, the message flow of §2.10 of QNX's library (connect messages, combine
//!   messages, `_IO_CLOSE`, the disconnect and unblock pulses) and the reply algorithm of
//!   `_resmgr_handler`. libqnxsim's C layer is a front with C function pointers and QNX's C
//!   structures; the Rust layer below is a front with Rust closures.
//! * The Rust layer: [`resmgr_attach`], [`resmgr_detach`], [`ResmgrConnectFuncs`],
//!   [`ResmgrIoFuncs`], [`ResmgrContext`], [`resmgr_open_bind`], [`resmgr_msgread`],
//!   [`resmgr_msgwrite`]. Handles and OCBs are any `Send + Sync` Rust types, shared as `Arc`s;
//!   [`crate::iofunc`] has QNX's POSIX-layer attribute and OCB types and their default handlers.
//!
//! Handlers return what QNX's do: `EOK` (0) for a reply of `ctp.status` and no data, an errno
//! (> 0) for `MsgError`, [`_RESMGR_NPARTS`]`(n)` for a reply of the context's first `n` iov
//! parts (see [`ResmgrContext::ptr`], QNX's `_RESMGR_PTR`), [`_RESMGR_NOREPLY`] when the
//! handler answered itself or will later, [`_RESMGR_DEFAULT`] for "not mine" (ENOSYS unless an
//! `other_func` takes it).

use crate::current::with_current;
use crate::dispatch::{Context, Dispatch, MessageAttr, MSG_FLAG_TYPE_PULSE};
use crate::iomsg::*;
use crate::sys;
use kernel_sim::consts::{_PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK};
use kernel_sim::{Errno, KResult, MsgInfo, Pulse, RcvId};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use zerocopy::FromBytes;

/// `_RESMGR_NOREPLY`: the handler answered (or will answer) the client itself.
pub const _RESMGR_NOREPLY: i32 = 0x8000_0000_u32 as i32;
/// `_RESMGR_DEFAULT`: the handler does not handle it (ENOSYS, unless `other_func` does).
pub const _RESMGR_DEFAULT: i32 = 0x8000_0001_u32 as i32;
/// `EOK`: a reply of `ctp.status` and no data.
pub const EOK: i32 = 0;

/// `_RESMGR_NPARTS(n)`: reply with the context's first `n` iov parts.
#[allow(non_snake_case)]
pub const fn _RESMGR_NPARTS(n: i32) -> i32 {
    -n
}

/// `_RESMGR_ERRNO(e)`: fail the client's call with `e`.
#[allow(non_snake_case)]
pub const fn _RESMGR_ERRNO(e: Errno) -> i32 {
    e.0
}

/// `_RESMGR_DETACH_ALL`: remove the path and invalidate the link's open bindings.
pub const _RESMGR_DETACH_ALL: u32 = 0x0000;
/// `_RESMGR_DETACH_PATHNAME`: only remove the path; open OCBs keep working.
pub const _RESMGR_DETACH_PATHNAME: u32 = 0x0001;
/// `_RESMGR_DETACH_CLOSE`: also run the close handlers of the link's bindings.
pub const _RESMGR_DETACH_CLOSE: u32 = 0x8000;

/// `RESMGR_FLAG_ATTACH_LOCAL` (`resmgr_attr_t.flags`): a link without a path (clients reach it
/// through a connection of their own to the channel).
pub const RESMGR_FLAG_ATTACH_LOCAL: u32 = 0x0002;
/// `RESMGR_FLAG_ATTACH_OTHERFUNC`: the attr's `other_func` is used.
pub const RESMGR_FLAG_ATTACH_OTHERFUNC: u32 = 0x0004;

const RESMGR_PATH_FLAGS: u32 = 0x031F;

// ==================================================================== the engine

/// What the engine needs of a front's context for one received message or pulse. The receive
/// buffer, the rcvid and `_msg_info` are the dispatch context's; `id`, `status`, `offset`,
/// `size` and the reply iov are the resource-manager context's fields.
pub trait CoreCtx {
    /// The rcvid the context answers (0: none, as in `close_ocb`).
    fn rcvid(&self) -> RcvId;
    /// Sets it.
    fn set_rcvid(&mut self, rcvid: RcvId);
    /// The `_msg_info` of what came.
    fn info(&self) -> MsgInfo;
    /// Replaces it (the unblock pulse's client's).
    fn set_info(&mut self, info: MsgInfo);
    /// The bytes received (as many as the buffer took).
    fn msg(&self) -> &[u8];
    /// Writes `bytes` at the start of the receive buffer (a faked `_IO_CLOSE`).
    fn set_msg(&mut self, bytes: &[u8]);
    /// `ctp->id`.
    fn set_id(&mut self, id: i32);
    /// `ctp->status`.
    fn status(&self) -> i64;
    /// Sets `ctp->status`.
    fn set_status(&mut self, status: i64);
    /// `ctp->offset`, `ctp->size`: where the current (combine) part is.
    fn set_part(&mut self, offset: usize, size: usize);
    /// Clears the reply iov (before a handler runs).
    fn clear_iov(&mut self);
    /// `MsgReplyv(rcvid, status, iov, nparts)`.
    fn reply(&mut self, nparts: usize) -> KResult<()>;
    /// The bytes [`CoreCtx::reply`] would send now (its first `nparts` parts), copied: a
    /// combine close answers after its faked close, whose handler may reuse or free what the
    /// reply points into.
    fn copy_reply(&self, nparts: usize) -> Vec<u8>;
    /// `MsgReply(rcvid, status, bytes)` of a reply copied with [`CoreCtx::copy_reply`].
    fn reply_copied(&mut self, status: i64, bytes: &[u8]) -> KResult<()>;
}

/// A front: the handler types of one language. The engine calls them through these functions,
/// never holding its own locks.
pub trait Front: Sized + Send + Sync + 'static {
    /// The context handlers see.
    type Ctx<'a>: CoreCtx;
    /// An OCB, shared by its bindings; [`Front::ocb_key`] tells two apart.
    type Ocb: Clone + Send + Sync;
    /// An I/O function table.
    type Io: Clone + Send + Sync;
    /// A link's connect table and handle.
    type Link: Clone + Send + Sync;
    /// `other_func`.
    type Other: Clone + Send + Sync;

    /// The OCB's identity.
    fn ocb_key(ocb: &Self::Ocb) -> usize;
    /// Calls the connect table's slot for `subtype` (`_IO_CONNECT_OPEN`.. `_IO_CONNECT_MOUNT`,
    /// or `_IO_CONNECT_RSVD_UNBLOCK`); [`_RESMGR_DEFAULT`] when there is none.
    fn connect(link: &Self::Link, ctx: &mut Self::Ctx<'_>, subtype: u16) -> i32;
    /// Calls the I/O table's slot for `ty`: a message type (its header at `ctx`'s current
    /// offset) or `_IO_RSVD_CLOSE_OCB`, `_IO_RSVD_LOCK_OCB`, `_IO_RSVD_UNLOCK_OCB`,
    /// `_IO_RSVD_UNBLOCK`; [`_RESMGR_DEFAULT`] when there is none.
    fn io(io: &Self::Io, ctx: &mut Self::Ctx<'_>, ty: u16, ocb: &Self::Ocb) -> i32;
    /// Calls `other_func`.
    fn other(other: &Self::Other, ctx: &mut Self::Ctx<'_>) -> i32;
}

struct LinkEntry<F: Front> {
    link: F::Link,
    io: F::Io,
    chid: i32,
    path: Option<i32>,
    in_connect: usize,
}

struct Binding<F: Front> {
    link: i32,
    ocb: F::Ocb,
    io: F::Io,
}

struct Tables<F: Front> {
    links: Vec<Option<LinkEntry<F>>>,
    bindings: HashMap<(i32, i32), Binding<F>>,
    refs: HashMap<usize, usize>,
    other: Option<F::Other>,
}

/// The resource-manager layer of one dispatch handle, generic over its [`Front`].
pub struct Resmgr<F: Front> {
    tables: Mutex<Tables<F>>,
    idle: Condvar,
    installed: Mutex<bool>,
}

impl<F: Front> Default for Resmgr<F> {
    fn default() -> Self {
        Resmgr {
            tables: Mutex::new(Tables {
                links: Vec::new(),
                bindings: HashMap::new(),
                refs: HashMap::new(),
                other: None,
            }),
            idle: Condvar::new(),
            installed: Mutex::new(false),
        }
    }
}

impl<F: Front> std::fmt::Debug for Resmgr<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.tables();
        f.debug_struct("Resmgr")
            .field("links", &t.links.iter().filter(|l| l.is_some()).count())
            .field("bindings", &t.bindings.len())
            .finish()
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

impl<F: Front> Resmgr<F> {
    fn tables(&self) -> MutexGuard<'_, Tables<F>> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `install` (which attaches the layer's handlers to the dispatch handle) unless it
    /// succeeded before.
    pub fn install_once(&self, install: impl FnOnce() -> KResult<()>) -> KResult<()> {
        let mut done = self.installed.lock().unwrap_or_else(|p| p.into_inner());
        if !*done {
            install()?;
            *done = true;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    /// `resmgr_attach`'s work once the front has its tables: a new link (the lowest free id)
    /// on channel `chid`; with `path`, registered with the kernel's path manager (`flags`
    /// `_RESMGR_FLAG_*`, `file_type` `_FTYPE_*`), whose clients' `_IO_CONNECT`s carry the id.
    /// `other` becomes the handle's `other_func` if it has none yet. Returns the link id.
    /// Errors: EINVAL bad flags; the path manager's (EINVAL, ENAMETOOLONG, EAGAIN).
    pub fn attach(
        &self,
        chid: i32,
        path: Option<&[u8]>,
        file_type: u32,
        flags: u32,
        link: F::Link,
        io: F::Io,
        other: Option<F::Other>,
    ) -> KResult<i32> {
        if flags & !RESMGR_PATH_FLAGS != 0 {
            return Err(Errno::EINVAL);
        }
        let id = {
            let mut t = self.tables();
            let id = match t.links.iter().position(Option::is_none) {
                Some(i) => i,
                None => {
                    t.links.push(None);
                    t.links.len() - 1
                }
            };
            t.links[id] = Some(LinkEntry {
                link,
                io,
                chid,
                path: None,
                in_connect: 0,
            });
            if t.other.is_none() {
                t.other = other;
            }
            id as i32
        };
        if let Some(path) = path {
            match with_current(|c| c.path_attach(chid, path, flags, file_type, id as u32)) {
                Ok(pid) => {
                    if let Some(Some(l)) = self.tables().links.get_mut(id as usize) {
                        l.path = Some(pid);
                    }
                }
                Err(e) => {
                    self.tables().links[id as usize] = None;
                    return Err(e);
                }
            }
        }
        Ok(id)
    }

    /// `resmgr_detach(dpp, id, flags)`: the path goes first (new opens fail), then, once no
    /// other thread runs a connect handler of the link, unless `_RESMGR_DETACH_PATHNAME`, the
    /// link's bindings go (with `_RESMGR_DETACH_CLOSE`, through their close handlers; their
    /// clients' later calls fail with EBADF) and the id is free. ENOENT unknown id.
    pub fn detach(&self, ctx: Option<&mut F::Ctx<'_>>, id: i32, flags: u32) -> KResult<()> {
        let (path, chid) = {
            let mut t = self.tables();
            let l = t
                .links
                .get_mut(usize::try_from(id).map_err(|_| Errno::ENOENT)?)
                .and_then(Option::as_mut)
                .ok_or(Errno::ENOENT)?;
            (l.path.take(), l.chid)
        };
        if let Some(p) = path {
            let _ = with_current(|c| c.name_detach(p, chid));
        }
        if flags & _RESMGR_DETACH_PATHNAME != 0 {
            return Ok(());
        }
        let mine = IN_CONNECT.with(|c| c.get()) == Some(id);
        let gone: Vec<((i32, i32), Binding<F>)> = {
            let mut t = self.tables();
            loop {
                let busy = t
                    .links
                    .get(id as usize)
                    .and_then(Option::as_ref)
                    .map_or(0, |l| l.in_connect);
                if busy <= usize::from(mine) {
                    break;
                }
                t = self.idle.wait(t).unwrap_or_else(|p| p.into_inner());
            }
            if t.links.get(id as usize).and_then(Option::as_ref).is_none() {
                return Err(Errno::ENOENT);
            }
            t.links[id as usize] = None;
            let keys: Vec<(i32, i32)> = t
                .bindings
                .iter()
                .filter(|(_, b)| b.link == id)
                .map(|(k, _)| *k)
                .collect();
            keys.into_iter()
                .filter_map(|k| t.bindings.remove(&k).map(|b| (k, b)))
                .collect()
        };
        let close = flags & _RESMGR_DETACH_CLOSE != 0;
        match ctx {
            Some(ctx) if close => {
                for (k, b) in gone {
                    self.fake_close(ctx, k, b);
                }
            }
            _ => {
                for (_, b) in gone {
                    let mut t = self.tables();
                    Self::unref(&mut t, &b.ocb);
                }
            }
        }
        Ok(())
    }

    /// `resmgr_open_bind(ctp, ocb, io)`: binds the connection the context's message came on
    /// (its `scoid`, `coid`) to `ocb`, handled by `io` (`None`: the link's I/O table). ENOENT
    /// the link is gone; EBUSY the connection is bound already.
    pub fn open_bind(
        &self,
        info: &MsgInfo,
        link: i32,
        ocb: F::Ocb,
        io: Option<F::Io>,
    ) -> KResult<()> {
        let mut t = self.tables();
        let io = match io {
            Some(io) => io,
            None => t
                .links
                .get(usize::try_from(link).map_err(|_| Errno::ENOENT)?)
                .and_then(Option::as_ref)
                .ok_or(Errno::ENOENT)?
                .io
                .clone(),
        };
        if t.links
            .get(link as usize)
            .and_then(Option::as_ref)
            .is_none()
        {
            return Err(Errno::ENOENT);
        }
        let key = (info.scoid, info.coid);
        if t.bindings.contains_key(&key) {
            return Err(Errno::EBUSY);
        }
        *t.refs.entry(F::ocb_key(&ocb)).or_insert(0) += 1;
        t.bindings.insert(key, Binding { link, ocb, io });
        Ok(())
    }

    /// `resmgr_unbind(ctp)`: removes the binding of the context's connection (the OCB stays
    /// for its other references). ENOENT none.
    pub fn unbind(&self, info: &MsgInfo) -> KResult<()> {
        let mut t = self.tables();
        let b = t
            .bindings
            .remove(&(info.scoid, info.coid))
            .ok_or(Errno::ENOENT)?;
        Self::unref(&mut t, &b.ocb);
        Ok(())
    }

    /// The OCB bound to a connection, and its I/O table.
    pub fn binding(&self, scoid: i32, coid: i32) -> Option<(i32, F::Ocb, F::Io)> {
        let t = self.tables();
        t.bindings
            .get(&(scoid, coid))
            .map(|b| (b.link, b.ocb.clone(), b.io.clone()))
    }

    /// How many connections are bound, and to how many OCBs (for tests and listings).
    pub fn counts(&self) -> (usize, usize) {
        let t = self.tables();
        (t.bindings.len(), t.refs.len())
    }

    /// Drops one reference to `ocb`; true when it was the last (the caller runs `close_ocb`).
    fn unref(t: &mut Tables<F>, ocb: &F::Ocb) -> bool {
        let k = F::ocb_key(ocb);
        match t.refs.get_mut(&k) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                t.refs.remove(&k);
                true
            }
            None => false,
        }
    }

    /// The binding of a connection with a reference to its OCB taken, in one step: a close
    /// of the connection in another thread cannot run `close_ocb` between the two.
    fn binding_ref(&self, scoid: i32, coid: i32) -> Option<(i32, F::Ocb, F::Io)> {
        let mut t = self.tables();
        let b = t.bindings.get(&(scoid, coid))?;
        let found = (b.link, b.ocb.clone(), b.io.clone());
        *t.refs.entry(F::ocb_key(&found.1)).or_insert(0) += 1;
        Some(found)
    }

    /// Drops a reference; the last one runs `close_ocb` with rcvid 0.
    fn release(&self, ctx: &mut F::Ctx<'_>, io: &F::Io, ocb: &F::Ocb) {
        let last = Self::unref(&mut self.tables(), ocb);
        if last {
            // The reply (already prepared in the context) goes after close_ocb, as QNX's.
            let (rcvid, status) = (ctx.rcvid(), ctx.status());
            ctx.set_rcvid(0);
            let _ = F::io(io, ctx, _IO_RSVD_CLOSE_OCB, ocb);
            ctx.set_rcvid(rcvid);
            ctx.set_status(status);
        }
    }

    /// A faked `_IO_CLOSE` for a binding already out of the table, run through the I/O path
    /// as QNX's: `close_dup` with rcvid 0 between `lock_ocb` and `unlock_ocb` (another thread
    /// may be in a handler of the OCB), then the reference goes.
    fn fake_close(&self, ctx: &mut F::Ctx<'_>, key: (i32, i32), b: Binding<F>) {
        let (rcvid, saved) = (ctx.rcvid(), ctx.info());
        let mut info = saved;
        (info.scoid, info.coid) = key;
        ctx.set_info(info);
        ctx.set_rcvid(0);
        ctx.set_id(b.link);
        let close = IoClose {
            type_: _IO_CLOSE,
            combine_len: 4,
        };
        ctx.set_msg(zerocopy::IntoBytes::as_bytes(&close));
        ctx.set_part(0, 4);
        ctx.set_status(0);
        ctx.clear_iov();
        let lock = F::io(&b.io, ctx, _IO_RSVD_LOCK_OCB, &b.ocb);
        if lock == EOK || lock == _RESMGR_DEFAULT {
            let _ = F::io(&b.io, ctx, _IO_CLOSE, &b.ocb);
            let _ = F::io(&b.io, ctx, _IO_RSVD_UNLOCK_OCB, &b.ocb);
        }
        self.release(ctx, &b.io, &b.ocb);
        ctx.set_rcvid(rcvid);
        ctx.set_info(saved);
    }

    fn other(&self, ctx: &mut F::Ctx<'_>, n: i32) -> i32 {
        if n != _RESMGR_DEFAULT {
            return n;
        }
        let other = self.tables().other.clone();
        match other {
            Some(o) => F::other(&o, ctx),
            None => n,
        }
    }

    /// The reply algorithm of QNX's `_resmgr_handler` for what a handler returned.
    fn answer(ctx: &mut F::Ctx<'_>, n: i32) -> i32 {
        let rcvid = ctx.rcvid();
        if rcvid <= 0 || n == _RESMGR_NOREPLY {
            return 0;
        }
        let n = if n == _RESMGR_DEFAULT {
            Errno::ENOSYS.0
        } else {
            n
        };
        let r = if n <= 0 {
            ctx.reply(n.unsigned_abs() as usize)
        } else {
            with_current(|c| sys::msg_error(c, rcvid, Errno(n)))
        };
        if r.is_ok() {
            0
        } else {
            -1
        }
    }

    /// Handles what a dispatch context received for the layer: a message of type
    /// `_IO_BASE..=_IO_MAX`, or a `_PULSE_CODE_DISCONNECT` / `_PULSE_CODE_UNBLOCK` pulse.
    /// `has_name(handle)` says whether an `_IO_CONNECT`'s handle is a name attached to the same
    /// dispatch handle (answered EOK, as the dispatch layer answers names). Returns what
    /// `dispatch_handler` returns: 0, or -1 when the reply failed or the pulse meant nothing.
    pub fn handle(&self, ctx: &mut F::Ctx<'_>, has_name: impl Fn(i32) -> bool) -> i32 {
        let rcvid = ctx.rcvid();
        if rcvid == 0 {
            return self.pulse(ctx);
        }
        if rcvid < 0 {
            return -1;
        }
        ctx.set_status(0);
        ctx.clear_iov();
        let msglen = usize::try_from(ctx.info().msglen)
            .unwrap_or(0)
            .min(ctx.msg().len());
        match u16_at(ctx.msg(), 0) {
            Some(_IO_CONNECT) => self.connect(ctx, msglen, has_name),
            Some(_) => self.io_message(ctx, msglen),
            None => Self::answer(ctx, Errno::EINVAL.0),
        }
    }

    fn connect(&self, ctx: &mut F::Ctx<'_>, msglen: usize, has_name: impl Fn(i32) -> bool) -> i32 {
        let Some(hdr) = IoConnect::from_bytes(ctx.msg()) else {
            return Self::answer(ctx, Errno::EINVAL.0);
        };
        let handle = hdr.handle as i32;
        let link = {
            let mut t = self.tables();
            let link = usize::try_from(handle)
                .ok()
                .and_then(|i| t.links.get_mut(i))
                .and_then(Option::as_mut)
                .map(|l| {
                    l.in_connect += 1;
                    l.link.clone()
                });
            link
        };
        let Some(link) = link else {
            let n = if has_name(handle) {
                EOK
            } else {
                Errno::ENOENT.0
            };
            return Self::answer(ctx, n);
        };
        ctx.set_id(handle);
        ctx.set_part(0, msglen);
        let prev = IN_CONNECT.with(|c| c.replace(Some(handle)));
        let n = match hdr.subtype {
            _IO_CONNECT_OPEN..=_IO_CONNECT_MOUNT => {
                let n = F::connect(&link, ctx, hdr.subtype);
                self.other(ctx, n)
            }
            _IO_CONNECT_COMBINE | _IO_CONNECT_COMBINE_CLOSE => {
                let n = F::connect(&link, ctx, _IO_CONNECT_OPEN);
                let n = self.other(ctx, n);
                IN_CONNECT.with(|c| c.set(prev));
                self.done_connect(handle);
                if n != EOK || (ctx.status() as u32) & _IO_CONNECT_RET_FLAG != 0 {
                    return Self::answer(ctx, n);
                }
                return self.combined(ctx, &hdr, msglen);
            }
            _ => Errno::ENOSYS.0,
        };
        IN_CONNECT.with(|c| c.set(prev));
        self.done_connect(handle);
        Self::answer(ctx, n)
    }

    fn done_connect(&self, id: i32) {
        let mut t = self.tables();
        if let Some(Some(l)) = t.links.get_mut(id as usize) {
            l.in_connect = l.in_connect.saturating_sub(1);
        }
        drop(t);
        self.idle.notify_all();
    }

    /// The I/O message embedded in a combine connect, run on the binding the open made; with
    /// `_IO_CONNECT_COMBINE_CLOSE` the binding is closed after the reply.
    fn combined(&self, ctx: &mut F::Ctx<'_>, hdr: &IoConnect, msglen: usize) -> i32 {
        let info = ctx.info();
        let Some((_, ocb, io)) = self.binding_ref(info.scoid, info.coid) else {
            return Self::answer(ctx, EOK);
        };
        let at = (40 + usize::from(hdr.path_len)).next_multiple_of(8);
        let n = if at < msglen {
            ctx.set_status(0);
            ctx.clear_iov();
            self.parts(ctx, at, msglen, &io, &ocb)
        } else {
            EOK
        };
        self.release(ctx, &io, &ocb);
        // A combine close unbinds before the answer, as an _IO_CLOSE does: the client may
        // detach its coid and reuse the number for its next open as soon as it is answered.
        // And, as QNX's connect handler does, it runs the faked close (`close_ocb`) before the
        // answer: a client's `stat()` returns with the server's OCB gone, its counts and
        // locks released. The answer is copied first: the close may reuse or free what it
        // points into.
        let key = (info.scoid, info.coid);
        let closing = if hdr.subtype == _IO_CONNECT_COMBINE_CLOSE {
            // (Only the binding this message's open made: another's, should the connection
            // have been bound again meanwhile, is not this close's.)
            let mut t = self.tables();
            match t.bindings.get(&key) {
                Some(b) if F::ocb_key(&b.ocb) == F::ocb_key(&ocb) => t.bindings.remove(&key),
                _ => None,
            }
        } else {
            None
        };
        let Some(b) = closing else {
            return Self::answer(ctx, n);
        };
        let rcvid = ctx.rcvid();
        let n = if n == _RESMGR_DEFAULT {
            Errno::ENOSYS.0
        } else {
            n
        };
        let copied = (rcvid > 0 && n <= 0 && n != _RESMGR_NOREPLY)
            .then(|| (ctx.status(), ctx.copy_reply(n.unsigned_abs() as usize)));
        self.fake_close(ctx, key, b);
        let r = match copied {
            _ if rcvid <= 0 || n == _RESMGR_NOREPLY => Ok(()),
            Some((status, bytes)) => ctx.reply_copied(status, &bytes),
            None => with_current(|c| sys::msg_error(c, rcvid, Errno(n))),
        };
        if r.is_ok() {
            0
        } else {
            -1
        }
    }

    fn io_message(&self, ctx: &mut F::Ctx<'_>, msglen: usize) -> i32 {
        let info = ctx.info();
        let Some((link, ocb, io)) = self.binding_ref(info.scoid, info.coid) else {
            return Self::answer(ctx, Errno::EBADF.0);
        };
        ctx.set_id(link);
        let n = self.parts(ctx, 0, msglen, &io, &ocb);
        self.release(ctx, &io, &ocb);
        Self::answer(ctx, n)
    }

    /// The combine loop over the parts from `start`: `lock_ocb`, each part's handler until one
    /// does not return EOK, `unlock_ocb`. Returns the last handler's result.
    fn parts(
        &self,
        ctx: &mut F::Ctx<'_>,
        start: usize,
        msglen: usize,
        io: &F::Io,
        ocb: &F::Ocb,
    ) -> i32 {
        let rcvid = ctx.rcvid();
        let lock = F::io(io, ctx, _IO_RSVD_LOCK_OCB, ocb);
        if lock != EOK && lock != _RESMGR_DEFAULT {
            return lock;
        }
        let mut at = start;
        let n = loop {
            if at + 4 > msglen {
                break Errno::EBADMSG.0;
            }
            let (Some(ty), Some(clen)) = (u16_at(ctx.msg(), at), u16_at(ctx.msg(), at + 2)) else {
                break Errno::EBADMSG.0;
            };
            let more = clen & _IO_COMBINE_FLAG != 0;
            let size = if more {
                usize::from(clen & !_IO_COMBINE_FLAG)
            } else {
                msglen.saturating_sub(at)
            };
            if more && (size < 4 || at + size >= msglen) {
                break Errno::EBADMSG.0;
            }
            ctx.set_part(at, size);
            ctx.set_status(0);
            ctx.clear_iov();
            ctx.set_rcvid(if more { 0 } else { rcvid });
            let n = if ty == _IO_CLOSE {
                let info = ctx.info();
                let key = (info.scoid, info.coid);
                // The binding this close is for: the one the message found. Another thread's
                // close of the same connection may have unbound it since, and a new open
                // bound the connection again (to another OCB): that binding is not this
                // close's to take, nor is it to run the close handler over it.
                let b = {
                    let mut t = self.tables();
                    match t.bindings.get(&key) {
                        Some(b) if F::ocb_key(&b.ocb) != F::ocb_key(ocb) => Err(Errno::EBADF),
                        // (Unbound since, by another close or a disconnect: closed already.)
                        _ => t.bindings.remove(&key).ok_or(Errno::EBADF),
                    }
                };
                match b {
                    Err(e) => e.0,
                    Ok(b) => {
                        let n = match F::io(io, ctx, _IO_CLOSE, ocb) {
                            _RESMGR_DEFAULT => EOK,
                            n => n,
                        };
                        // The binding's own reference; the message's is released by the
                        // caller.
                        let last = Self::unref(&mut self.tables(), &b.ocb);
                        debug_assert!(!last);
                        n
                    }
                }
            } else if (_IO_BASE..=_IO_MAX).contains(&ty)
                && !matches!(
                    ty,
                    _IO_RSVD_CLOSE_OCB
                        | _IO_RSVD_UNBLOCK
                        | _IO_RSVD_LOCK_OCB
                        | _IO_RSVD_UNLOCK_OCB
                        | _IO_RSVD_PAUSE
                        | _IO_RSVD_UNPAUSE
                )
            {
                let n = F::io(io, ctx, ty, ocb);
                match self.other(ctx, n) {
                    _RESMGR_DEFAULT => Errno::ENOSYS.0,
                    n => n,
                }
            } else {
                Errno::ENOSYS.0
            };
            ctx.set_rcvid(rcvid);
            if !more || n != EOK {
                break n;
            }
            at += size;
        };
        let _ = F::io(io, ctx, _IO_RSVD_UNLOCK_OCB, ocb);
        n
    }

    fn pulse(&self, ctx: &mut F::Ctx<'_>) -> i32 {
        let Some(p) = Pulse::from_bytes(ctx.msg()) else {
            return -1;
        };
        match p.code {
            _PULSE_CODE_DISCONNECT => {
                let scoid = p.scoid;
                let gone: Vec<((i32, i32), Binding<F>)> = {
                    let mut t = self.tables();
                    let keys: Vec<(i32, i32)> = t
                        .bindings
                        .keys()
                        .filter(|k| k.0 == scoid)
                        .copied()
                        .collect();
                    keys.into_iter()
                        .filter_map(|k| t.bindings.remove(&k).map(|b| (k, b)))
                        .collect()
                };
                for (k, b) in gone {
                    self.fake_close(ctx, k, b);
                }
                let _ = with_current(|c| sys::connect_detach(c, scoid));
                0
            }
            _PULSE_CODE_UNBLOCK => {
                let rcvid = RcvId::from(p.value as u32 as i32);
                if rcvid <= 0 {
                    return self.other(ctx, _RESMGR_DEFAULT).min(0);
                }
                let Ok(info) = with_current(|c| sys::msg_info(c, rcvid)) else {
                    return -1;
                };
                let Some((link, ocb, io)) = self.binding_ref(info.scoid, info.coid) else {
                    return -1;
                };
                let (old_rcvid, old_info) = (ctx.rcvid(), ctx.info());
                ctx.set_rcvid(rcvid);
                ctx.set_info(info);
                ctx.set_id(link);
                ctx.set_status(0);
                ctx.clear_iov();
                let n = F::io(&io, ctx, _IO_RSVD_UNBLOCK, &ocb);
                let r = if n == _RESMGR_DEFAULT {
                    0
                } else {
                    Self::answer(ctx, n)
                };
                // The reference held across the handler (a close or disconnect handled
                // meanwhile leaves close_ocb to it).
                self.release(ctx, &io, &ocb);
                ctx.set_rcvid(old_rcvid);
                ctx.set_info(old_info);
                r
            }
            _ => -1,
        }
    }
}

thread_local! {
    /// The link whose connect handler this thread runs (resmgr_detach from inside it).
    static IN_CONNECT: std::cell::Cell<Option<i32>> = const { std::cell::Cell::new(None) };
}

// ==================================================================== the Rust layer

/// `resmgr_context_t` for Rust handlers: the dispatch context, the link id, the reply status
/// and iov, where the current message is.
#[derive(Debug)]
pub struct ResmgrContext<'a> {
    ctx: &'a mut Context,
    rcvid: RcvId,
    info: MsgInfo,
    /// `ctp->id`: the link the message came for.
    pub id: i32,
    /// `ctp->status`: the status a reply carries (`_IO_SET_READ_NBYTES` sets it).
    pub status: i64,
    /// `ctp->offset`: where the current message starts in the client's.
    pub offset: usize,
    /// `ctp->size`: the current message's bytes.
    pub size: usize,
    /// `ctp->iov`: the reply's parts.
    pub iov: Vec<Vec<u8>>,
}

impl ResmgrContext<'_> {
    /// `ctp->rcvid` (0 in `close_ocb` and for a non-final combine part).
    pub fn rcvid(&self) -> RcvId {
        self.rcvid
    }

    /// `ctp->info`.
    pub fn info(&self) -> &MsgInfo {
        &self.info
    }

    /// `ctp->msg`: the receive buffer's bytes.
    pub fn msg(&self) -> &[u8] {
        self.ctx.msg()
    }

    /// The current message: the receive buffer from [`ResmgrContext::offset`].
    pub fn current(&self) -> &[u8] {
        let m = self.ctx.msg();
        &m[self.offset.min(m.len())..]
    }

    /// The dispatch handle.
    pub fn dispatch(&self) -> &Dispatch {
        self.ctx.dispatch()
    }

    /// `_RESMGR_PTR(ctp, data)`: the reply is `data`; returns `_RESMGR_NPARTS(1)`.
    pub fn ptr(&mut self, data: &[u8]) -> i32 {
        self.iov.clear();
        self.iov.push(data.to_vec());
        _RESMGR_NPARTS(1)
    }

    /// `_IO_SET_READ_NBYTES` / `_IO_SET_WRITE_NBYTES` / `_RESMGR_STATUS`.
    pub fn set_status(&mut self, status: i64) {
        self.status = status;
    }
}

impl CoreCtx for ResmgrContext<'_> {
    fn rcvid(&self) -> RcvId {
        self.rcvid
    }
    fn set_rcvid(&mut self, rcvid: RcvId) {
        self.rcvid = rcvid;
    }
    fn info(&self) -> MsgInfo {
        self.info
    }
    fn set_info(&mut self, info: MsgInfo) {
        self.info = info;
    }
    fn msg(&self) -> &[u8] {
        self.ctx.msg()
    }
    fn set_msg(&mut self, bytes: &[u8]) {
        let b = self.ctx.buf_mut();
        let n = bytes.len().min(b.len());
        b[..n].copy_from_slice(&bytes[..n]);
    }
    fn set_id(&mut self, id: i32) {
        self.id = id;
    }
    fn status(&self) -> i64 {
        self.status
    }
    fn set_status(&mut self, status: i64) {
        self.status = status;
    }
    fn set_part(&mut self, offset: usize, size: usize) {
        self.offset = offset;
        self.size = size;
    }
    fn clear_iov(&mut self) {
        self.iov.clear();
    }
    fn reply(&mut self, nparts: usize) -> KResult<()> {
        let parts: Vec<&[u8]> = self.iov.iter().take(nparts).map(Vec::as_slice).collect();
        with_current(|c| sys::msg_replyv(c, self.rcvid, self.status, &parts))
    }
    fn copy_reply(&self, nparts: usize) -> Vec<u8> {
        self.iov.iter().take(nparts).flatten().copied().collect()
    }
    fn reply_copied(&mut self, status: i64, bytes: &[u8]) -> KResult<()> {
        with_current(|c| sys::msg_replyv(c, self.rcvid, status, &[bytes]))
    }
}

/// A connect message as a connect handler sees it: the `struct _io_connect`, the path after the
/// mountpoint, and the extra bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoOpen {
    /// The header.
    pub connect: IoConnect,
    /// The path relative to the mountpoint ("" for the mountpoint itself), without its NUL.
    pub path: Vec<u8>,
    /// The `extra_len` bytes after the path.
    pub extra: Vec<u8>,
}

impl IoOpen {
    /// Parses the connect message at the start of `msg`. None when it is too short.
    pub fn parse(msg: &[u8]) -> Option<IoOpen> {
        let connect = IoConnect::from_bytes(msg)?;
        let plen = usize::from(connect.path_len);
        let path = msg.get(40..40 + plen)?;
        let path = path.split(|&b| b == 0).next().unwrap_or(&[]).to_vec();
        let at = (40 + plen).next_multiple_of(8);
        let extra = msg
            .get(at..at + usize::from(connect.extra_len))
            .unwrap_or(&[])
            .to_vec();
        Some(IoOpen {
            connect,
            path,
            extra,
        })
    }
}

type Erased = Arc<dyn Any + Send + Sync>;

/// A connect handler: `(ctp, msg, handle) -> status`.
pub type ConnectFn<H> = Arc<dyn Fn(&mut ResmgrContext<'_>, &IoOpen, &Arc<H>) -> i32 + Send + Sync>;
/// An I/O handler for messages `M`: `(ctp, msg, ocb) -> status`.
pub type IoFn<M, O> = Arc<dyn Fn(&mut ResmgrContext<'_>, &M, &Arc<O>) -> i32 + Send + Sync>;
/// An I/O handler with no message (`close_ocb`, `lock_ocb`, `unlock_ocb`).
pub type OcbFn<O> = Arc<dyn Fn(&mut ResmgrContext<'_>, &Arc<O>) -> i32 + Send + Sync>;

/// `resmgr_connect_funcs_t`: a connect table (`None`: `_RESMGR_DEFAULT`, ENOSYS). `H` is the
/// handle's type (`RESMGR_HANDLE_T`), commonly [`crate::iofunc::IofuncAttr`].
pub struct ResmgrConnectFuncs<H> {
    /// `_IO_CONNECT_OPEN` (also runs for combine connects, as QNX's `stat()` sends).
    pub open: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_UNLINK`.
    pub unlink: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_RENAME`.
    pub rename: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_MKNOD`.
    pub mknod: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_READLINK`.
    pub readlink: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_LINK`.
    pub link: Option<ConnectFn<H>>,
    /// `_IO_CONNECT_MOUNT`.
    pub mount: Option<ConnectFn<H>>,
}

impl<H> std::fmt::Debug for ResmgrConnectFuncs<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResmgrConnectFuncs")
            .field("open", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

impl<H> Default for ResmgrConnectFuncs<H> {
    fn default() -> Self {
        ResmgrConnectFuncs {
            open: None,
            unlink: None,
            rename: None,
            mknod: None,
            readlink: None,
            link: None,
            mount: None,
        }
    }
}

impl<H> Clone for ResmgrConnectFuncs<H> {
    fn clone(&self) -> Self {
        ResmgrConnectFuncs {
            open: self.open.clone(),
            unlink: self.unlink.clone(),
            rename: self.rename.clone(),
            mknod: self.mknod.clone(),
            readlink: self.readlink.clone(),
            link: self.link.clone(),
            mount: self.mount.clone(),
        }
    }
}

/// `resmgr_io_funcs_t`: an I/O table (`None`: `_RESMGR_DEFAULT`, ENOSYS for a message; EOK for
/// `close_dup`, `lock_ocb`, `unlock_ocb`; nothing for `close_ocb`). `O` is the OCB's type
/// (`RESMGR_OCB_T`), commonly [`crate::iofunc::IofuncOcb`].
pub struct ResmgrIoFuncs<O> {
    /// `_IO_READ` and `_IO_READ64` (the header's `get_nbytes` has the count).
    pub read: Option<IoFn<IoRead, O>>,
    /// `_IO_WRITE` and `_IO_WRITE64`; the data follows the 16-byte header.
    pub write: Option<IoFn<IoWrite, O>>,
    /// The last reference to the OCB went (rcvid 0: nobody to answer).
    pub close_ocb: Option<OcbFn<O>>,
    /// `_IO_STAT`.
    pub stat: Option<IoFn<IoStat, O>>,
    /// `_IO_NOTIFY`.
    pub notify: Option<IoFn<IoNotify, O>>,
    /// `_IO_DEVCTL`; the data follows the 16-byte header.
    pub devctl: Option<IoFn<IoDevctl, O>>,
    /// A client bound to this OCB asked to be unblocked (its rcvid is the context's).
    pub unblock: Option<IoFn<Pulse, O>>,
    /// `_IO_LSEEK`.
    pub lseek: Option<IoFn<IoLseek, O>>,
    /// `_IO_MSG`: private messages.
    pub msg: Option<IoFn<IoMsg, O>>,
    /// `_IO_CLOSE`: one connection to the OCB closes.
    pub close_dup: Option<IoFn<IoClose, O>>,
    /// Before each I/O handler.
    pub lock_ocb: Option<OcbFn<O>>,
    /// After each I/O handler.
    pub unlock_ocb: Option<OcbFn<O>>,
}

impl<O> std::fmt::Debug for ResmgrIoFuncs<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResmgrIoFuncs")
            .field("read", &self.read.is_some())
            .field("write", &self.write.is_some())
            .finish_non_exhaustive()
    }
}

impl<O> Default for ResmgrIoFuncs<O> {
    fn default() -> Self {
        ResmgrIoFuncs {
            read: None,
            write: None,
            close_ocb: None,
            stat: None,
            notify: None,
            devctl: None,
            unblock: None,
            lseek: None,
            msg: None,
            close_dup: None,
            lock_ocb: None,
            unlock_ocb: None,
        }
    }
}

impl<O> Clone for ResmgrIoFuncs<O> {
    fn clone(&self) -> Self {
        ResmgrIoFuncs {
            read: self.read.clone(),
            write: self.write.clone(),
            close_ocb: self.close_ocb.clone(),
            stat: self.stat.clone(),
            notify: self.notify.clone(),
            devctl: self.devctl.clone(),
            unblock: self.unblock.clone(),
            lseek: self.lseek.clone(),
            msg: self.msg.clone(),
            close_dup: self.close_dup.clone(),
            lock_ocb: self.lock_ocb.clone(),
            unlock_ocb: self.unlock_ocb.clone(),
        }
    }
}

/// `other_func`: `(ctp) -> status` for what no table slot took.
pub type OtherFn = Arc<dyn Fn(&mut ResmgrContext<'_>) -> i32 + Send + Sync>;

/// `resmgr_attr_t`.
#[derive(Clone, Default)]
pub struct ResmgrAttr {
    /// `RESMGR_FLAG_ATTACH_LOCAL`, `RESMGR_FLAG_ATTACH_OTHERFUNC`.
    pub flags: u32,
    /// iov entries a context needs (0: 1).
    pub nparts_max: u32,
    /// The receive buffer a context needs (0: the least).
    pub msg_max_size: usize,
    /// Handles what no table slot took (with `RESMGR_FLAG_ATTACH_OTHERFUNC`).
    pub other_func: Option<OtherFn>,
}

impl std::fmt::Debug for ResmgrAttr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResmgrAttr")
            .field("flags", &self.flags)
            .field("nparts_max", &self.nparts_max)
            .field("msg_max_size", &self.msg_max_size)
            .field("other_func", &self.other_func.is_some())
            .finish()
    }
}

type ErasedConnect = Arc<dyn Fn(&mut ResmgrContext<'_>, u16) -> i32 + Send + Sync>;
type ErasedIo = Arc<dyn Fn(&mut ResmgrContext<'_>, u16, &Erased) -> i32 + Send + Sync>;
type ErasedOther = Arc<dyn Fn(&mut ResmgrContext<'_>) -> i32 + Send + Sync>;

/// The Rust front: closures, handles and OCBs as `Arc`s of any type (each table downcasts to
/// its own).
#[derive(Debug)]
pub struct RustFront;

impl Front for RustFront {
    type Ctx<'a> = ResmgrContext<'a>;
    type Ocb = Erased;
    type Io = ErasedIo;
    type Link = ErasedConnect;
    type Other = ErasedOther;

    fn ocb_key(ocb: &Erased) -> usize {
        Arc::as_ptr(ocb) as *const () as usize
    }
    fn connect(link: &ErasedConnect, ctx: &mut ResmgrContext<'_>, subtype: u16) -> i32 {
        link(ctx, subtype)
    }
    fn io(io: &ErasedIo, ctx: &mut ResmgrContext<'_>, ty: u16, ocb: &Erased) -> i32 {
        io(ctx, ty, ocb)
    }
    fn other(other: &ErasedOther, ctx: &mut ResmgrContext<'_>) -> i32 {
        other(ctx)
    }
}

fn erase_connect<H: Send + Sync + 'static>(
    funcs: ResmgrConnectFuncs<H>,
    handle: Arc<H>,
) -> ErasedConnect {
    Arc::new(move |ctp: &mut ResmgrContext<'_>, subtype: u16| {
        let slot = match subtype {
            _IO_CONNECT_OPEN => &funcs.open,
            _IO_CONNECT_UNLINK => &funcs.unlink,
            _IO_CONNECT_RENAME => &funcs.rename,
            _IO_CONNECT_MKNOD => &funcs.mknod,
            _IO_CONNECT_READLINK => &funcs.readlink,
            _IO_CONNECT_LINK => &funcs.link,
            _IO_CONNECT_MOUNT => &funcs.mount,
            _ => return _RESMGR_DEFAULT,
        };
        let Some(f) = slot else {
            return _RESMGR_DEFAULT;
        };
        let Some(msg) = IoOpen::parse(ctp.msg()) else {
            return Errno::EINVAL.0;
        };
        f(ctp, &msg, &handle)
    })
}

fn header<M: FromBytes>(ctp: &ResmgrContext<'_>) -> Option<M> {
    M::read_from_prefix(ctp.current()).ok().map(|(m, _)| m)
}

fn call<M: FromBytes, O>(f: &Option<IoFn<M, O>>, ctp: &mut ResmgrContext<'_>, ocb: &Arc<O>) -> i32 {
    match f {
        None => _RESMGR_DEFAULT,
        Some(f) => match header::<M>(ctp) {
            Some(m) => f(ctp, &m, ocb),
            None => Errno::EBADMSG.0,
        },
    }
}

fn erase_io<O: Send + Sync + 'static>(funcs: ResmgrIoFuncs<O>) -> ErasedIo {
    Arc::new(move |ctp: &mut ResmgrContext<'_>, ty: u16, ocb: &Erased| {
        let Ok(ocb) = Arc::clone(ocb).downcast::<O>() else {
            return Errno::EBADF.0;
        };
        let plain = |f: &Option<OcbFn<O>>, ctp: &mut ResmgrContext<'_>| match f {
            Some(f) => f(ctp, &ocb),
            None => _RESMGR_DEFAULT,
        };
        match ty {
            _IO_READ | _IO_READ64 => call(&funcs.read, ctp, &ocb),
            _IO_WRITE | _IO_WRITE64 => call(&funcs.write, ctp, &ocb),
            _IO_RSVD_CLOSE_OCB => plain(&funcs.close_ocb, ctp),
            _IO_STAT => call(&funcs.stat, ctp, &ocb),
            _IO_NOTIFY => call(&funcs.notify, ctp, &ocb),
            _IO_DEVCTL => call(&funcs.devctl, ctp, &ocb),
            _IO_RSVD_UNBLOCK => match &funcs.unblock {
                Some(f) => {
                    let p = Pulse::from_bytes(ctp.msg()).unwrap_or_default();
                    f(ctp, &p, &ocb)
                }
                None => _RESMGR_DEFAULT,
            },
            _IO_LSEEK => call(&funcs.lseek, ctp, &ocb),
            _IO_MSG => call(&funcs.msg, ctp, &ocb),
            _IO_CLOSE => call(&funcs.close_dup, ctp, &ocb),
            _IO_RSVD_LOCK_OCB => plain(&funcs.lock_ocb, ctp),
            _IO_RSVD_UNLOCK_OCB => plain(&funcs.unlock_ocb, ctp),
            _ => _RESMGR_DEFAULT,
        }
    })
}

fn layer(dpp: &Dispatch, attr: &ResmgrAttr) -> KResult<Arc<Resmgr<RustFront>>> {
    let core = dpp
        .engine()
        .extension::<Resmgr<RustFront>>(|_| Ok(Resmgr::default()))?;
    core.install_once(|| install(dpp, &core, attr))?;
    Ok(core)
}

fn install(dpp: &Dispatch, core: &Arc<Resmgr<RustFront>>, attr: &ResmgrAttr) -> KResult<()> {
    let mattr = MessageAttr {
        flags: 0,
        nparts_max: attr.nparts_max,
        msg_max_size: attr.msg_max_size,
    };
    let weak = Arc::downgrade(core);
    let handler: crate::dispatch::Handler = Arc::new(move |ctx: &mut Context, _code, _flags| {
        let Some(core) = weak.upgrade() else {
            return -1;
        };
        let dpp = ctx.dispatch().clone();
        let rcvid = ctx.rcvid();
        let info = *ctx.info();
        let mut r = ResmgrContext {
            ctx,
            rcvid,
            info,
            id: -1,
            status: 0,
            offset: 0,
            size: 0,
            iov: Vec::new(),
        };
        core.handle(&mut r, |h| dpp.engine().has_name(h))
    });
    let e = dpp.engine();
    e.attach(
        Some(&mattr),
        0,
        i32::from(_IO_BASE),
        i32::from(_IO_MAX),
        handler.clone(),
    )?;
    for code in [_PULSE_CODE_DISCONNECT, _PULSE_CODE_UNBLOCK] {
        e.attach(
            None,
            MSG_FLAG_TYPE_PULSE,
            i32::from(code),
            i32::from(code),
            handler.clone(),
        )?;
    }
    Ok(())
}

/// `resmgr_attach(dpp, attr, path, file_type, flags, connect_funcs, io_funcs, handle)`: binds
/// `path` (absolute; a relative one is taken from the working directory) to the dispatch
/// handle: clients' `open`s of it reach `connect_funcs` with `handle`, their I/O on what they
/// opened reaches `io_funcs` (or the table the open handler bound). The first attach on a
/// handle attaches the layer to it (message types `_IO_BASE..=_IO_MAX`, the disconnect and
/// unblock pulses). `path` `None` with `RESMGR_FLAG_ATTACH_LOCAL` makes a link with no path.
/// `flags` are `_RESMGR_FLAG_*` (`_RESMGR_FLAG_DIR`: also paths below it; `_RESMGR_FLAG_SELF`:
/// this process may open it too; `_RESMGR_FLAG_BEFORE`/`AFTER`/`OPAQUE`: order on a shared
/// mountpoint). Returns the link id (`ctp.id` in its handlers). Errors: EINVAL bad flags, a
/// path with `..` or a NUL, a destroyed handle, context sizes above those of contexts already
/// allocated; ENAMETOOLONG a path over 127 bytes; EAGAIN the kernel's path table is full.
#[allow(clippy::too_many_arguments)]
pub fn resmgr_attach<H, O>(
    dpp: &Dispatch,
    attr: Option<&ResmgrAttr>,
    path: Option<&str>,
    file_type: u32,
    flags: u32,
    connect_funcs: &ResmgrConnectFuncs<H>,
    io_funcs: &ResmgrIoFuncs<O>,
    handle: Arc<H>,
) -> KResult<i32>
where
    H: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let attr = attr.cloned().unwrap_or_default();
    if path.is_none() && attr.flags & RESMGR_FLAG_ATTACH_LOCAL == 0 {
        layer(dpp, &attr)?;
        return Ok(0);
    }
    let path = match path {
        Some(p) if !p.starts_with('/') => {
            let cwd = std::env::current_dir().map_err(|_| Errno::EINVAL)?;
            Some(format!("{}/{}", cwd.display(), p))
        }
        p => p.map(str::to_owned),
    };
    let core = layer(dpp, &attr)?;
    let other = if attr.flags & RESMGR_FLAG_ATTACH_OTHERFUNC != 0 {
        attr.other_func.clone()
    } else {
        None
    };
    core.attach(
        dpp.chid(),
        path.as_deref().map(str::as_bytes),
        file_type,
        flags,
        erase_connect(connect_funcs.clone(), handle),
        erase_io(io_funcs.clone()),
        other,
    )
}

/// `resmgr_detach(dpp, id, flags)`: see [`Resmgr::detach`]. With `_RESMGR_DETACH_CLOSE` the
/// close handlers run in the calling thread, with rcvid 0. ENOENT unknown id, or no layer on
/// the handle.
pub fn resmgr_detach(dpp: &Dispatch, id: i32, flags: u32) -> KResult<()> {
    let core = dpp
        .engine()
        .extension_if::<Resmgr<RustFront>>()
        .ok_or(Errno::ENOENT)?;
    if flags & _RESMGR_DETACH_CLOSE == 0 {
        return core.detach(None, id, flags);
    }
    let mut dummy = crate::dispatch::dispatch_context_alloc(dpp)?;
    let mut r = ResmgrContext {
        ctx: &mut dummy,
        rcvid: 0,
        info: MsgInfo::default(),
        id,
        status: 0,
        offset: 0,
        size: 0,
        iov: Vec::new(),
    };
    core.detach(Some(&mut r), id, flags)
}

fn core_of(ctp: &ResmgrContext<'_>) -> KResult<Arc<Resmgr<RustFront>>> {
    ctp.dispatch()
        .engine()
        .extension_if::<Resmgr<RustFront>>()
        .ok_or(Errno::ENOENT)
}

/// `resmgr_open_bind(ctp, ocb, io_funcs)`: binds the connection the context's open came on to
/// `ocb` (`io_funcs` `None`: the link's table). Call it from an open handler. ENOENT the link
/// is gone; EBUSY the connection is bound already.
pub fn resmgr_open_bind<O: Send + Sync + 'static>(
    ctp: &ResmgrContext<'_>,
    ocb: Arc<O>,
    io_funcs: Option<&ResmgrIoFuncs<O>>,
) -> KResult<()> {
    let core = core_of(ctp)?;
    core.open_bind(
        &ctp.info,
        ctp.id,
        ocb as Erased,
        io_funcs.map(|f| erase_io(f.clone())),
    )
}

/// `resmgr_unbind(ctp)`: removes the binding of the context's connection. ENOENT none.
pub fn resmgr_unbind(ctp: &ResmgrContext<'_>) -> KResult<()> {
    core_of(ctp)?.unbind(&ctp.info)
}

/// The OCB the context's connection is bound to, as `O` (None: none, or another type).
pub fn resmgr_ocb<O: Send + Sync + 'static>(ctp: &ResmgrContext<'_>) -> Option<Arc<O>> {
    let core = core_of(ctp).ok()?;
    let (_, ocb, _) = core.binding(ctp.info.scoid, ctp.info.coid)?;
    ocb.downcast::<O>().ok()
}

/// (bound connections, OCBs) of the handle's layer: what is open now.
pub fn resmgr_counts(dpp: &Dispatch) -> (usize, usize) {
    dpp.engine()
        .extension_if::<Resmgr<RustFront>>()
        .map_or((0, 0), |c| c.counts())
}

/// `resmgr_msgread(ctp, buf, offset)`: `MsgRead` of the client's message from the current
/// message's `offset` (so `offset` is relative to [`ResmgrContext::offset`]). The `MsgRead`
/// errors.
pub fn resmgr_msgread(ctp: &ResmgrContext<'_>, buf: &mut [u8], offset: usize) -> KResult<usize> {
    let rcvid = ctp.rcvid;
    let at = ctp.offset + offset;
    with_current(|c| sys::msg_read(c, rcvid, buf, at))
}

/// `resmgr_msgwrite(ctp, buf, offset)`: `MsgWrite` into the client's reply buffer at `offset`
/// (not adjusted). The `MsgWrite` errors.
pub fn resmgr_msgwrite(ctp: &ResmgrContext<'_>, buf: &[u8], offset: usize) -> KResult<usize> {
    let rcvid = ctp.rcvid;
    with_current(|c| sys::msg_write(c, rcvid, buf, offset))
}

/// `resmgr_msgreply(ctp, data)`: `MsgReply(ctp.rcvid, ctp.status, data)`.
pub fn resmgr_msgreply(ctp: &ResmgrContext<'_>, data: &[u8]) -> KResult<()> {
    let rcvid = ctp.rcvid;
    with_current(|c| sys::msg_reply(c, rcvid, ctp.status, data))
}
