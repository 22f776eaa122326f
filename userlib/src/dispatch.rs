//! QNX's dispatch layer, its message part (`<sys/dispatch.h>`): a [`Dispatch`] handle
//! (`dispatch_t`) that owns a channel and a table of handlers for message types and pulse
//! codes, and a [`Context`] (`dispatch_context_t`) that a server thread blocks in and hands to
//! the matching handler. Thread pools are [`crate::thread_pool`]; `select_attach` and the
//! resource-manager layer are not here.
//!
//! * [`dispatch_create`] makes a handle with **no channel**: the first attach creates one with
//!   `_NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT`, and `_NTO_CHF_COID_DISCONNECT` if it is the
//!   process's first such channel (a process has one death channel). [`dispatch_create_channel`]
//!   uses a channel of the caller's.
//! * [`message_attach`] binds an inclusive range of message types, [`pulse_attach`] a pulse
//!   code (`MSG_FLAG_ALLOC_PULSE`: the lowest free code 0..=127, returned), both in attach
//!   order: the first entry that matches wins.
//! * [`dispatch_context_alloc`] gives a context (EINVAL before anything is attached);
//!   [`dispatch_block`] receives into it (bounded by [`dispatch_timeout`], or a `TimerTimeout`
//!   armed before; a timeout leaves the context's rcvid -1), [`dispatch_handler`] calls the
//!   handler and returns what it returned.
//!
//! [`dispatch_handler`]'s rules are QNX's: a message shorter than 2 bytes is answered
//! `MsgError(EINVAL)` (-1); a message is matched by its first 16 bits (the type) against the
//! message ranges, a pulse by its code against the pulse ranges; with no match the first
//! `MSG_FLAG_DEFAULT_FUNC` entry is called (messages and pulses alike: its `code` and
//! [`Context::rcvid`] tell them apart), and else a message is answered `MsgError(ENOSYS)`
//! (-1) and a pulse dropped (-1). Handlers answer their messages themselves, through
//! [`Context::reply`] / [`Context::error`] or the rcvid.
//!
//! A dispatch handle that a name was attached to ([`crate::qnx::name_attach_dispatch`]) also
//! does what QNX's resource-manager layer does for a name with no connect handler: it answers
//! an `_IO_CONNECT` for one of its names that no range matched with EOK (so that `name_open`
//! succeeds; QNX's documented recommendation, docs/deviations.md) and detaches the server
//! connection of an unmatched `_PULSE_CODE_DISCONNECT`; both return 0.
//!
//! ```
//! use userlib::dispatch::*;
//! use userlib::qnx::{connect_attach, msg_send};
//! use userlib::consts::_NTO_SIDE_CHANNEL;
//!
//! let dpp = dispatch_create()?;
//! message_attach(&dpp, None, 0x200, 0x2ff, |ctp: &mut Context, code, _flags| {
//!     let answer = code * 2;
//!     ctp.reply(i64::from(answer), &[]).map_or(-1, |()| 0)
//! })?;
//! let mut ctp = dispatch_context_alloc(&dpp)?;
//! let chid = dpp.chid();
//! let client = std::thread::spawn(move || {
//!     let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
//!     msg_send(coid, &0x210u16.to_ne_bytes(), &mut []).unwrap()
//! });
//! dispatch_block(&mut ctp)?;
//! assert_eq!(dispatch_handler(&mut ctp), 0);
//! assert_eq!(client.join().unwrap(), 0x420);
//! dispatch_destroy(&dpp)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

use crate::current::{self, cleanup_in, with_member, Access};
use crate::sys;
use kernel_sim::consts::*;
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult, Kernel, MsgInfo, Pid, Pulse, RcvId, ThreadCtx, PULSE_SIZE};
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// `MSG_FLAG_TYPE_PULSE`: the range is of pulse codes (`message_attach`'s `attr.flags`).
pub const MSG_FLAG_TYPE_PULSE: u32 = 0x001;
/// `MSG_FLAG_ALLOC_PULSE`: `pulse_attach` picks the lowest free code 0..=127 and returns it.
pub const MSG_FLAG_ALLOC_PULSE: u32 = 0x002;
/// `MSG_FLAG_TYPE_SELECT`: QNX's, internal to `select_attach` (refused here: EINVAL).
pub const MSG_FLAG_TYPE_SELECT: u32 = 0x004;
/// `MSG_FLAG_TYPE_RESMGR`: QNX's, internal to `resmgr_attach` (refused here: EINVAL).
pub const MSG_FLAG_TYPE_RESMGR: u32 = 0x008;
/// `MSG_FLAG_DEFAULT_FUNC`: the handler for what no range matched.
pub const MSG_FLAG_DEFAULT_FUNC: u32 = 0x100;
/// `MSG_FLAG_SIDE_CHANNEL`: `message_connect` gives a side-channel coid.
pub const MSG_FLAG_SIDE_CHANNEL: u32 = 0x200;
/// `MSG_FLAG_CROSS_ENDIAN`: accepted; every client here has the server's byte order.
pub const MSG_FLAG_CROSS_ENDIAN: u32 = 0x400;
/// `DISPATCH_FLAG_NOLOCK`: `dispatch_create_channel`'s one flag (QNX 7.1's lockless handling;
/// accepted, nothing changes).
pub const DISPATCH_FLAG_NOLOCK: u32 = 0x1;
/// The least receive buffer a context gets: `sizeof(resmgr_iomsgs_t)` in libqnxsim's
/// `<sys/dispatch.h>` (room for any I/O message header and a `struct _pulse`).
pub const MSG_MAX_SIZE_MIN: usize = 256;

const ATTACH_FLAGS: u32 =
    MSG_FLAG_TYPE_PULSE | MSG_FLAG_ALLOC_PULSE | MSG_FLAG_DEFAULT_FUNC | MSG_FLAG_CROSS_ENDIAN;

/// `message_attr_t`: what a message attach asks of the contexts (`None` in [`message_attach`]
/// is all zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageAttr {
    /// `MSG_FLAG_TYPE_PULSE`, `MSG_FLAG_DEFAULT_FUNC`, `MSG_FLAG_CROSS_ENDIAN` (others: EINVAL).
    pub flags: u32,
    /// The iov entries a context needs (0: 1).
    pub nparts_max: u32,
    /// The receive buffer a context needs (at least [`MSG_MAX_SIZE_MIN`]).
    pub msg_max_size: usize,
}

/// What [`Engine::route`] decided for a received message or pulse.
#[derive(Debug)]
pub enum Routed<H> {
    /// Call this handler with this code (the message type, or the pulse code) and flags 0.
    Call {
        /// The matching entry's handler.
        handler: H,
        /// The `code` argument.
        code: i32,
    },
    /// Already dealt with (answered, dropped): what `dispatch_handler` returns.
    Done(i32),
}

#[derive(Clone)]
struct Entry<H> {
    lo: i32,
    hi: i32,
    flags: u32,
    handler: H,
}

impl<H> Entry<H> {
    fn pulse(&self) -> bool {
        self.flags & MSG_FLAG_TYPE_PULSE != 0
    }

    fn default(&self) -> bool {
        self.flags & MSG_FLAG_DEFAULT_FUNC != 0
    }
}

struct State<H> {
    chid: i32,
    death_channel: bool,
    made_channel: bool,
    destroyed: bool,
    attached: bool,
    contexts: bool,
    nparts_max: u32,
    msg_max_size: usize,
    timeout: Option<u64>,
    unblock_coid: i32,
    entries: Vec<Entry<H>>,
    names: Vec<i32>,
    exts: Vec<(TypeId, Arc<dyn Any + Send + Sync>)>,
    on_destroy: Vec<Box<dyn FnOnce() + Send>>,
}

/// The dispatch layer's bookkeeping, generic over the handler type: the channel, the attach
/// table and its matching rules, the sizes contexts need, the timeout, the names. [`Dispatch`]
/// is one with Rust closures; libqnxsim's C `dispatch_t` is one with C function pointers, so
/// that both follow the same rules. Its calls run as the calling thread, which must belong to
/// the process that made it (an unbound thread joins it); a thread of another process or kernel
/// gets ESRCH from every call that would name the channel or a coid (the same numbers name
/// other objects there). Dropped, it destroys its channel (as `dispatch_destroy`).
pub struct Engine<H> {
    state: Mutex<State<H>>,
    kernel: Kernel,
    pid: Pid,
    /// Set when it is destroyed (or dropped): what a thread that was blocked on its channel
    /// reads after its receive, when the handle itself may be gone ([`Engine::gone_flag`]).
    gone: Arc<std::sync::atomic::AtomicBool>,
}

impl<H: Clone> Engine<H> {
    /// `dispatch_create_channel(chid, flags)`: `chid` -1 makes the channel on the first attach;
    /// otherwise it is the caller's channel (which should have `_NTO_CHF_UNBLOCK |
    /// _NTO_CHF_DISCONNECT`). EINVAL: `chid` neither -1 nor positive, or flags other than
    /// `DISPATCH_FLAG_NOLOCK`.
    pub fn new(chid: i32, flags: u32) -> KResult<Engine<H>> {
        if flags & !DISPATCH_FLAG_NOLOCK != 0 || (chid != -1 && chid < 1) {
            return Err(Errno::EINVAL);
        }
        let (kernel, pid) = current::current_process()?;
        Ok(Engine {
            gone: Arc::default(),
            state: Mutex::new(State {
                chid,
                death_channel: false,
                made_channel: false,
                destroyed: false,
                attached: false,
                contexts: false,
                nparts_max: 1,
                msg_max_size: MSG_MAX_SIZE_MIN,
                timeout: None,
                unblock_coid: -1,
                entries: Vec::new(),
                names: Vec::new(),
                exts: Vec::new(),
                on_destroy: Vec::new(),
            }),
            kernel,
            pid,
        })
    }

    /// Runs kernel call `f` as the calling thread, a thread of the handle's process (an unbound
    /// thread joins it); ESRCH from a thread of another process or kernel, where the handle's
    /// chid and coids name other objects or none.
    pub fn as_owner<R>(&self, f: impl FnOnce(&ThreadCtx) -> KResult<R>) -> KResult<R> {
        with_member(&self.kernel, self.pid, |a| match a {
            Access::Member(c) => f(c),
            Access::Foreign => Err(Errno::ESRCH),
        })
    }

    fn state(&self) -> MutexGuard<'_, State<H>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> KResult<MutexGuard<'_, State<H>>> {
        let s = self.state();
        if s.destroyed {
            return Err(Errno::EINVAL);
        }
        Ok(s)
    }

    /// The channel (-1: none yet).
    pub fn chid(&self) -> i32 {
        self.state().chid
    }

    fn ensure_channel(&self, s: &mut State<H>) -> KResult<i32> {
        if s.chid == -1 {
            let base = _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT;
            let (chid, death) =
                self.as_owner(
                    |c| match sys::channel_create(c, base | _NTO_CHF_COID_DISCONNECT) {
                        Err(Errno::EBUSY) => Ok((sys::channel_create(c, base)?, false)),
                        r => Ok((r?, true)),
                    },
                )?;
            s.chid = chid;
            s.death_channel = death;
            s.made_channel = true;
        }
        Ok(s.chid)
    }

    /// `message_attach` / `pulse_attach`: binds `[low, high]` (message types, or pulse codes
    /// with `MSG_FLAG_TYPE_PULSE`) to `handler`; the channel is made now if there is none.
    /// Returns 0, or for a pulse range its low code (the allocated one with
    /// `MSG_FLAG_ALLOC_PULSE`). EINVAL: unknown flags, `MSG_FLAG_ALLOC_PULSE` without
    /// `MSG_FLAG_TYPE_PULSE`, a pulse range outside -128..=127, a range whose low end is above
    /// its high end (message types are taken as QNX stores them, as 16 bits), a context size
    /// bigger than contexts already allocated have, a destroyed handle; EAGAIN no free pulse
    /// code; EBUSY `_PULSE_CODE_COIDDEATH` on a channel this handle made without
    /// `_NTO_CHF_COID_DISCONNECT`; the `ChannelCreate` errors.
    pub fn attach(
        &self,
        attr: Option<&MessageAttr>,
        flags: u32,
        low: i32,
        high: i32,
        handler: H,
    ) -> KResult<i32> {
        let attr = attr.copied().unwrap_or_default();
        let flags = flags | attr.flags;
        let pulse = flags & MSG_FLAG_TYPE_PULSE != 0;
        if flags & !ATTACH_FLAGS != 0 || (flags & MSG_FLAG_ALLOC_PULSE != 0 && !pulse) {
            return Err(Errno::EINVAL);
        }
        let mut s = self.live()?;
        let (lo, hi) = if flags & MSG_FLAG_ALLOC_PULSE != 0 {
            let used = |code: i32| {
                s.entries
                    .iter()
                    .any(|e| e.pulse() && !e.default() && (e.lo..=e.hi).contains(&code))
            };
            let code = (i32::from(_PULSE_CODE_MINAVAIL)..=i32::from(_PULSE_CODE_MAXAVAIL))
                .find(|&c| !used(c))
                .ok_or(Errno::EAGAIN)?;
            (code, code)
        } else if pulse {
            let r = i32::from(i8::MIN)..=i32::from(i8::MAX);
            if !r.contains(&low) || !r.contains(&high) {
                return Err(Errno::EINVAL);
            }
            (low, high)
        } else {
            // QNX keeps a message range as shorts and matches it as 16-bit types.
            (i32::from(low as u16), i32::from(high as u16))
        };
        if lo > hi {
            return Err(Errno::EINVAL);
        }
        let nparts = attr.nparts_max.max(1);
        let size = attr.msg_max_size.max(MSG_MAX_SIZE_MIN);
        if s.contexts && (nparts > s.nparts_max || size > s.msg_max_size) {
            return Err(Errno::EINVAL);
        }
        let coiddeath = i32::from(_PULSE_CODE_COIDDEATH);
        if pulse && flags & MSG_FLAG_DEFAULT_FUNC == 0 && (lo..=hi).contains(&coiddeath) {
            self.ensure_channel(&mut s)?;
            if s.made_channel && !s.death_channel {
                return Err(Errno::EBUSY);
            }
        }
        self.ensure_channel(&mut s)?;
        s.nparts_max = s.nparts_max.max(nparts);
        s.msg_max_size = s.msg_max_size.max(size);
        s.attached = true;
        s.entries.push(Entry {
            lo,
            hi,
            flags: flags & !MSG_FLAG_ALLOC_PULSE,
            handler,
        });
        Ok(if pulse { lo } else { 0 })
    }

    /// `message_detach` / `pulse_detach`: removes the entry attached for exactly `[low, high]`
    /// (of pulses with `MSG_FLAG_TYPE_PULSE` in `flags`). EINVAL no such entry, or a destroyed
    /// handle.
    pub fn detach(&self, low: i32, high: i32, flags: u32) -> KResult<()> {
        let pulse = flags & MSG_FLAG_TYPE_PULSE != 0;
        let (lo, hi) = if pulse {
            (low, high)
        } else {
            (i32::from(low as u16), i32::from(high as u16))
        };
        let mut s = self.live()?;
        let at = s
            .entries
            .iter()
            .position(|e| e.pulse() == pulse && e.lo == lo && e.hi == hi)
            .ok_or(Errno::EINVAL)?;
        s.entries.remove(at);
        Ok(())
    }

    /// `message_connect(dpp, flags)`: a coid to the handle's own channel (side channel with
    /// `MSG_FLAG_SIDE_CHANNEL`). EINVAL other flags, no channel yet, a destroyed handle; the
    /// `ConnectAttach` errors.
    pub fn connect(&self, flags: u32) -> KResult<i32> {
        if flags & !MSG_FLAG_SIDE_CHANNEL != 0 {
            return Err(Errno::EINVAL);
        }
        let chid = self.live()?.chid;
        if chid == -1 {
            return Err(Errno::EINVAL);
        }
        let index = if flags & MSG_FLAG_SIDE_CHANNEL != 0 {
            _NTO_SIDE_CHANNEL
        } else {
            0
        };
        self.as_owner(|c| sys::connect_attach(c, ND_LOCAL_NODE, 0, chid, index, 0))
    }

    /// `dispatch_timeout`: every later block is bounded by `ns` nanoseconds (`None`: not
    /// bounded). EINVAL a destroyed handle.
    pub fn set_timeout(&self, ns: Option<u64>) -> KResult<()> {
        self.live()?.timeout = ns;
        Ok(())
    }

    /// A flag set when the handle is destroyed, for a thread about to block on its channel:
    /// read after the receive, it stays readable should the handle be freed meanwhile. A
    /// pulse received once it is set is the handle's own teardown (the detach of the coid it
    /// keeps for `dispatch_unblock`, which must go before the channel: destroyed first, the
    /// channel would send `_PULSE_CODE_COIDDEATH` to the process's other channels), and the
    /// block leaves with ESRCH, as it would from the channel's destroy.
    pub fn gone_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.gone.clone()
    }

    /// What a block needs: the channel and the timeout. EINVAL no channel, or destroyed.
    pub fn receive_setup(&self) -> KResult<(i32, Option<u64>)> {
        let s = self.live()?;
        if s.chid == -1 {
            return Err(Errno::EINVAL);
        }
        Ok((s.chid, s.timeout))
    }

    /// `dispatch_context_alloc`'s sizes: (iov entries, receive buffer bytes); from now on an
    /// attach may not ask for more. EINVAL nothing attached yet, or destroyed.
    pub fn context_sizes(&self) -> KResult<(u32, usize)> {
        let mut s = self.live()?;
        if !s.attached {
            return Err(Errno::EINVAL);
        }
        s.contexts = true;
        Ok((s.nparts_max, s.msg_max_size))
    }

    /// `name_attach(dpp, path, flags)`'s work: names the channel (made now if there is none) in
    /// the kernel's name space and counts as an attach. Returns (chid, mntid); the errors of
    /// [`crate::qnx::name_attach`].
    pub fn name_attach(&self, path: &[u8], flags: u32) -> KResult<(i32, i32)> {
        if flags & !NAME_FLAG_ATTACH_GLOBAL != 0 {
            return Err(Errno::EINVAL);
        }
        let mut s = self.live()?;
        let chid = self.ensure_channel(&mut s)?;
        let mntid = self.as_owner(|c| c.name_attach(chid, path, flags))?;
        s.names.push(mntid);
        s.attached = true;
        Ok((chid, mntid))
    }

    /// Whether `mntid` is a name attached through this handle (and not detached).
    pub fn has_name(&self, mntid: i32) -> bool {
        self.state().names.contains(&mntid)
    }

    /// The handle's extension of type `T` (a layer built on the dispatch layer keeps its state
    /// here: the resource-manager layer, `select_attach`), made by `make` with the handle's
    /// channel on first use (the channel is made now if there is none). EINVAL a destroyed
    /// handle; `make`'s and `ChannelCreate`'s errors.
    pub fn extension<T: Any + Send + Sync>(
        &self,
        make: impl FnOnce(i32) -> KResult<T>,
    ) -> KResult<Arc<T>> {
        let mut s = self.live()?;
        let want = TypeId::of::<T>();
        if let Some((_, e)) = s.exts.iter().find(|(t, _)| *t == want) {
            return Arc::clone(e).downcast::<T>().map_err(|_| Errno::EINVAL);
        }
        let chid = self.ensure_channel(&mut s)?;
        let e = Arc::new(make(chid)?);
        s.exts
            .push((want, Arc::clone(&e) as Arc<dyn Any + Send + Sync>));
        Ok(e)
    }

    /// The handle's extension of type `T`, if one was made.
    pub fn extension_if<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let want = TypeId::of::<T>();
        let s = self.state();
        let e = s.exts.iter().find(|(t, _)| *t == want)?;
        Arc::clone(&e.1).downcast::<T>().ok()
    }

    /// Runs `f` when the handle is destroyed ([`Engine::destroy`], or dropped undestroyed),
    /// before its channel goes; at once if it is destroyed already.
    pub fn on_destroy(&self, f: Box<dyn FnOnce() + Send>) {
        let mut s = self.state();
        if s.destroyed {
            drop(s);
            f();
        } else {
            s.on_destroy.push(f);
        }
    }

    /// Forgets a name detached by the caller.
    pub fn forget_name(&self, mntid: i32) {
        self.state().names.retain(|&m| m != mntid);
    }

    /// `dispatch_handler`'s decision for what a block received: `rcvid` and its bytes (a
    /// message's first `msglen`, or the `struct _pulse`). Answers what the layer answers
    /// itself (see the module docs) and says which handler to call otherwise.
    pub fn route(&self, rcvid: RcvId, msg: &[u8]) -> Routed<H> {
        if rcvid < 0 {
            return Routed::Done(-1);
        }
        if rcvid > 0 {
            if msg.len() < 2 {
                let _ = self.as_owner(|c| sys::msg_error(c, rcvid, Errno::EINVAL));
                return Routed::Done(-1);
            }
            let ty = i32::from(u16::from_ne_bytes([msg[0], msg[1]]));
            let (found, name) = {
                let s = self.state();
                let found = s
                    .entries
                    .iter()
                    .find(|e| !e.pulse() && !e.default() && (e.lo..=e.hi).contains(&ty))
                    .or_else(|| s.entries.iter().find(|e| e.default()))
                    .map(|e| (e.handler.clone(), e.default()));
                let name = ty == i32::from(_IO_CONNECT)
                    && msg.len() >= 20
                    && s.names.contains(
                        &(u32::from_ne_bytes([msg[16], msg[17], msg[18], msg[19]]) as i32),
                    );
                (found, name)
            };
            match found {
                Some((handler, false)) => Routed::Call { handler, code: ty },
                _ if name => {
                    let ok = self.as_owner(|c| sys::msg_reply(c, rcvid, 0, &[]));
                    Routed::Done(if ok.is_ok() { 0 } else { -1 })
                }
                Some((handler, true)) => Routed::Call { handler, code: ty },
                None => {
                    let _ = self.as_owner(|c| sys::msg_error(c, rcvid, Errno::ENOSYS));
                    Routed::Done(-1)
                }
            }
        } else {
            let Some(p) = Pulse::from_bytes(msg) else {
                return Routed::Done(-1);
            };
            let code = i32::from(p.code);
            let (found, names) = {
                let s = self.state();
                let found = s
                    .entries
                    .iter()
                    .find(|e| e.pulse() && !e.default() && (e.lo..=e.hi).contains(&code))
                    .or_else(|| s.entries.iter().find(|e| e.default()))
                    .map(|e| (e.handler.clone(), e.default()));
                (found, !s.names.is_empty())
            };
            match found {
                Some((handler, false)) => Routed::Call { handler, code },
                _ if names && p.code == _PULSE_CODE_DISCONNECT => {
                    let _ = self.as_owner(|c| sys::connect_detach(c, p.scoid));
                    Routed::Done(0)
                }
                Some((handler, true)) => Routed::Call { handler, code },
                None => Routed::Done(-1),
            }
        }
    }

    /// `dispatch_unblock`: a `_PULSE_CODE_UNBLOCK` pulse (value 0, the caller's priority) to the
    /// handle's own channel, waking one blocked thread. It goes through a side-channel coid the
    /// handle makes on the first unblock and keeps until it is destroyed (QNX attaches and
    /// detaches one each time, whose detach sends the channel a `_PULSE_CODE_DISCONNECT` and
    /// leaves a server connection to detach: docs/deviations.md). EINVAL no channel, or
    /// destroyed; the `ConnectAttach` errors.
    pub fn unblock(&self) -> KResult<()> {
        let mut s = self.live()?;
        if s.chid == -1 {
            return Err(Errno::EINVAL);
        }
        if s.unblock_coid == -1 {
            let chid = s.chid;
            s.unblock_coid = self.as_owner(|c| {
                sys::connect_attach(c, ND_LOCAL_NODE, 0, chid, _NTO_SIDE_CHANNEL, 0)
            })?;
        }
        let coid = s.unblock_coid;
        drop(s);
        // (A kernel pulse code: sent as a pulse event to the calling thread's coid.)
        let ev = SigEvent::pulse(coid, PULSE_PRIO_CALLER, _PULSE_CODE_UNBLOCK, 0);
        self.as_owner(|c| sys::msg_deliver_event(c, 0, &ev))
    }

    /// `dispatch_destroy`: destroys the channel (if there is one: its clients' sends fail with
    /// EBADF, blocked contexts with ESRCH) and empties the table; later calls fail with EINVAL.
    /// EINVAL destroyed already; ESRCH from a thread of another process (nothing is destroyed).
    pub fn destroy(&self) -> KResult<()> {
        // (A thread of another process destroys nothing: its chid would be another channel.)
        self.as_owner(|_| Ok(()))?;
        let mut s = self.live()?;
        s.destroyed = true;
        // (Before the unblock coid's detach below, whose _PULSE_CODE_DISCONNECT a blocked
        // thread may take: it reads the flag and leaves with ESRCH, as the channel's destroy
        // makes the others leave.)
        self.gone.store(true, std::sync::atomic::Ordering::Release);
        s.entries.clear();
        s.names.clear();
        let hooks = std::mem::take(&mut s.on_destroy);
        let exts = std::mem::take(&mut s.exts);
        drop(s);
        for f in hooks {
            f();
        }
        drop(exts);
        let mut s = self.state();
        let chid = std::mem::replace(&mut s.chid, -1);
        let coid = std::mem::replace(&mut s.unblock_coid, -1);
        drop(s);
        if coid != -1 {
            let _ = self.as_owner(|c| sys::connect_detach(c, coid));
        }
        if chid != -1 {
            self.as_owner(|c| sys::channel_destroy(c, chid))?;
        }
        Ok(())
    }
}

impl<H> Drop for Engine<H> {
    fn drop(&mut self) {
        self.gone.store(true, std::sync::atomic::Ordering::Release);
        let s = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if !s.destroyed {
            for f in std::mem::take(&mut s.on_destroy) {
                f();
            }
            s.exts.clear();
            let (chid, coid) = (s.chid, s.unblock_coid);
            if coid != -1 {
                cleanup_in(&self.kernel, self.pid, |c| sys::connect_detach(c, coid));
            }
            if chid != -1 {
                cleanup_in(&self.kernel, self.pid, |c| sys::channel_destroy(c, chid));
            }
        }
    }
}

impl<H> std::fmt::Debug for Engine<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("Engine")
            .field("chid", &s.chid)
            .field("entries", &s.entries.len())
            .field("destroyed", &s.destroyed)
            .finish()
    }
}

/// A Rust handler: `(context, code, flags) -> result` (`code` the message type or pulse code,
/// `flags` 0). It answers a message itself; what it returns, `dispatch_handler` returns.
pub type HandlerFn = dyn FnMut(&mut Context, i32, u32) -> i32 + Send;

/// A handler as the table keeps it. One attached with [`message_attach`] / [`pulse_attach`]
/// (an `FnMut`) runs one call at a time: two contexts it matches at once run it for one, then
/// the other; one attached with [`message_attach_shared`] / [`pulse_attach_shared`] (an `Fn`)
/// runs for several threads at once, as a thread pool's threads need.
pub type Handler = Arc<dyn Fn(&mut Context, i32, u32) -> i32 + Send + Sync>;

/// `dispatch_t`: the dispatch handle (clones share it). The channel goes when the handle and
/// every context of it are dropped, or at [`dispatch_destroy`].
#[derive(Clone, Debug)]
pub struct Dispatch {
    engine: Arc<Engine<Handler>>,
}

impl Dispatch {
    /// The channel, -1 before the first attach.
    pub fn chid(&self) -> i32 {
        self.engine.chid()
    }

    /// The bookkeeping under it.
    pub fn engine(&self) -> &Engine<Handler> {
        &self.engine
    }
}

/// `dispatch_create()`: a handle with no channel yet (the first attach makes it).
pub fn dispatch_create() -> KResult<Dispatch> {
    dispatch_create_channel(-1, 0)
}

/// `dispatch_create_channel(chid, flags)`: a handle on the caller's channel `chid` (-1: made
/// on the first attach, as [`dispatch_create`]). EINVAL `chid` neither -1 nor positive, flags
/// other than [`DISPATCH_FLAG_NOLOCK`].
pub fn dispatch_create_channel(chid: i32, flags: u32) -> KResult<Dispatch> {
    Ok(Dispatch {
        engine: Arc::new(Engine::new(chid, flags)?),
    })
}

/// `dispatch_destroy(dpp)`: destroys its channel now (even one given to
/// [`dispatch_create_channel`], as QNX does) and its table; the handle's later calls fail with
/// EINVAL (contexts' blocks too). EINVAL destroyed already; ESRCH called by a thread of another
/// process (nothing is destroyed).
pub fn dispatch_destroy(dpp: &Dispatch) -> KResult<()> {
    dpp.engine.destroy()
}

fn handler(f: impl FnMut(&mut Context, i32, u32) -> i32 + Send + 'static) -> Handler {
    let f = Mutex::new(f);
    Arc::new(move |ctp: &mut Context, code, flags| {
        let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
        f(ctp, code, flags)
    })
}

/// `message_attach(dpp, attr, low, high, func, handle)`: messages whose type is in
/// `[low, high]` (or, with `MSG_FLAG_TYPE_PULSE` in `attr.flags`, pulses whose code is) go to
/// `func`; `MSG_FLAG_DEFAULT_FUNC` makes it the handler of what nothing matched. The first
/// attached match wins. Returns 0 (a pulse range: its low code). Errors: [`Engine::attach`].
pub fn message_attach(
    dpp: &Dispatch,
    attr: Option<&MessageAttr>,
    low: i32,
    high: i32,
    func: impl FnMut(&mut Context, i32, u32) -> i32 + Send + 'static,
) -> KResult<i32> {
    dpp.engine.attach(attr, 0, low, high, handler(func))
}

/// [`message_attach`] with a handler that runs for several threads at once (a thread pool's):
/// an `Fn`, not serialised.
pub fn message_attach_shared(
    dpp: &Dispatch,
    attr: Option<&MessageAttr>,
    low: i32,
    high: i32,
    func: impl Fn(&mut Context, i32, u32) -> i32 + Send + Sync + 'static,
) -> KResult<i32> {
    dpp.engine.attach(attr, 0, low, high, Arc::new(func))
}

/// `message_detach(dpp, low, high, flags)`: removes the range attached as exactly
/// `[low, high]` (`MSG_FLAG_TYPE_PULSE` in `flags`: a pulse range). EINVAL none.
pub fn message_detach(dpp: &Dispatch, low: i32, high: i32, flags: u32) -> KResult<()> {
    dpp.engine.detach(low, high, flags)
}

/// `pulse_attach(dpp, flags, code, func, handle)`: pulses of `code` go to `func`; with
/// `MSG_FLAG_ALLOC_PULSE` `code` is ignored and the lowest free code 0..=127 is taken. Returns
/// the code. EAGAIN no free code; EINVAL a code outside -128..=127, other flags than
/// `MSG_FLAG_ALLOC_PULSE`, `MSG_FLAG_DEFAULT_FUNC`, `MSG_FLAG_CROSS_ENDIAN`; EBUSY
/// `_PULSE_CODE_COIDDEATH` on a channel without `_NTO_CHF_COID_DISCONNECT`.
pub fn pulse_attach(
    dpp: &Dispatch,
    flags: u32,
    code: i32,
    func: impl FnMut(&mut Context, i32, u32) -> i32 + Send + 'static,
) -> KResult<i32> {
    if flags & MSG_FLAG_TYPE_PULSE != 0 {
        return Err(Errno::EINVAL);
    }
    dpp.engine
        .attach(None, flags | MSG_FLAG_TYPE_PULSE, code, code, handler(func))
}

/// [`pulse_attach`] with a handler that runs for several threads at once (a thread pool's).
pub fn pulse_attach_shared(
    dpp: &Dispatch,
    flags: u32,
    code: i32,
    func: impl Fn(&mut Context, i32, u32) -> i32 + Send + Sync + 'static,
) -> KResult<i32> {
    if flags & MSG_FLAG_TYPE_PULSE != 0 {
        return Err(Errno::EINVAL);
    }
    dpp.engine.attach(
        None,
        flags | MSG_FLAG_TYPE_PULSE,
        code,
        code,
        Arc::new(func),
    )
}

/// `pulse_detach(dpp, code, flags)`: removes the handler of pulse `code`. EINVAL none.
pub fn pulse_detach(dpp: &Dispatch, code: i32, flags: u32) -> KResult<()> {
    dpp.engine.detach(code, code, flags | MSG_FLAG_TYPE_PULSE)
}

/// `message_connect(dpp, flags)`: a coid to the handle's own channel, for self-pulses and
/// timers' `SIGEV_PULSE` (`MSG_FLAG_SIDE_CHANNEL`: a side-channel coid). EINVAL other flags, or
/// no channel yet.
pub fn message_connect(dpp: &Dispatch, flags: u32) -> KResult<i32> {
    dpp.engine.connect(flags)
}

/// `dispatch_timeout(dpp, reltime)`: every later [`dispatch_block`] of the handle waits at most
/// `reltime` (then returns with rcvid -1). `None` removes the bound (QNX's NULL changes nothing;
/// here it clears). EINVAL destroyed.
pub fn dispatch_timeout(dpp: &Dispatch, reltime: Option<Duration>) -> KResult<()> {
    let ns = reltime.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    dpp.engine.set_timeout(ns)
}

/// `dispatch_context_t`: what a server thread blocks in. It holds the receive buffer, the
/// rcvid and `_msg_info` of what came, and the handle.
#[derive(Debug)]
pub struct Context {
    dpp: Dispatch,
    rcvid: RcvId,
    info: MsgInfo,
    buf: Vec<u8>,
    len: usize,
}

/// `dispatch_context_alloc(dpp)`: a context with a receive buffer as big as the attaches ask
/// (at least [`MSG_MAX_SIZE_MIN`]). EINVAL nothing attached yet, or destroyed.
pub fn dispatch_context_alloc(dpp: &Dispatch) -> KResult<Context> {
    let (_, size) = dpp.engine.context_sizes()?;
    Ok(Context {
        dpp: dpp.clone(),
        rcvid: -1,
        info: MsgInfo::default(),
        buf: vec![0; size],
        len: 0,
    })
}

/// `dispatch_context_free(ctp)`: drops it.
pub fn dispatch_context_free(ctp: Context) {
    drop(ctp)
}

/// `dispatch_block(ctp)`: `MsgReceive` on the handle's channel into the context, bounded by
/// [`dispatch_timeout`] if one is set (else by a `TimerTimeout` the thread armed before). On
/// ETIMEDOUT it returns `Ok` with [`Context::rcvid`] -1. Errors: EINVAL no channel or a
/// destroyed handle, `MsgReceive`'s (ESRCH the channel destroyed, EINTR); ESRCH too for a
/// thread blocked while the handle is destroyed, and for a thread of another process.
pub fn dispatch_block(ctp: &mut Context) -> KResult<()> {
    let (chid, timeout) = ctp.dpp.engine.receive_setup()?;
    ctp.rcvid = -1;
    ctp.len = 0;
    ctp.info = MsgInfo::default();
    let r = ctp.dpp.engine.as_owner(|c| {
        if let Some(ns) = timeout {
            sys::timer_timeout(c, CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(ns))?;
        }
        sys::msg_receive(c, chid, &mut ctp.buf, Some(&mut ctp.info))
    });
    match r {
        // (The handle's teardown: see `Engine::gone_flag`.)
        Ok(0)
            if ctp
                .dpp
                .engine
                .gone
                .load(std::sync::atomic::Ordering::Acquire) =>
        {
            Err(Errno::ESRCH)
        }
        Ok(rcvid) => {
            ctp.rcvid = rcvid;
            ctp.len = if rcvid == 0 {
                PULSE_SIZE
            } else {
                usize::try_from(ctp.info.msglen)
                    .unwrap_or(0)
                    .min(ctp.buf.len())
            };
            Ok(())
        }
        Err(Errno::ETIMEDOUT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `dispatch_handler(ctp)`: hands what [`dispatch_block`] received to its handler and returns
/// what the handler returned, or -1 (a timeout's context, a message shorter than 2 bytes:
/// `MsgError(EINVAL)`, an unmatched message: `MsgError(ENOSYS)`, an unmatched pulse: dropped).
/// See the module docs for the matching rules.
pub fn dispatch_handler(ctp: &mut Context) -> i32 {
    let engine = ctp.dpp.engine.clone();
    match engine.route(ctp.rcvid, &ctp.buf[..ctp.len]) {
        Routed::Done(r) => r,
        Routed::Call { handler, code } => handler(ctp, code, 0),
    }
}

/// `dispatch_unblock(ctp)`: wakes one thread blocked in the handle with a
/// `_PULSE_CODE_UNBLOCK` pulse of value 0 (which `dispatch_handler` drops, -1, unless a pulse
/// handler takes that code). EINVAL no channel, or destroyed.
pub fn dispatch_unblock(ctp: &Context) -> KResult<()> {
    ctp.dpp.engine.unblock()
}

impl Context {
    /// What came: the rcvid (> 0 a message, 0 a pulse, -1 nothing: a timeout, or not blocked
    /// yet).
    pub fn rcvid(&self) -> RcvId {
        self.rcvid
    }

    /// The message's `_msg_info` (zero for a pulse).
    pub fn info(&self) -> &MsgInfo {
        &self.info
    }

    /// The bytes received: the message's (as many as the buffer took), or the `struct _pulse`.
    pub fn msg(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The whole receive buffer.
    pub fn buf_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    /// The receive buffer's size (`ctp->msg_max_size`).
    pub fn msg_max_size(&self) -> usize {
        self.buf.len()
    }

    /// The message type (its first 16 bits), if a message of at least 2 bytes came.
    pub fn msg_type(&self) -> Option<u16> {
        (self.rcvid > 0 && self.len >= 2).then(|| u16::from_ne_bytes([self.buf[0], self.buf[1]]))
    }

    /// The pulse, if a pulse came.
    pub fn pulse(&self) -> Option<Pulse> {
        if self.rcvid == 0 {
            Pulse::from_bytes(&self.buf[..self.len])
        } else {
            None
        }
    }

    /// The handle.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dpp
    }

    /// `MsgReply(ctp->rcvid, status, msg)`.
    pub fn reply(&self, status: i64, msg: &[u8]) -> KResult<()> {
        self.dpp
            .engine
            .as_owner(|c| sys::msg_reply(c, self.rcvid, status, msg))
    }

    /// `MsgError(ctp->rcvid, err)`.
    pub fn error(&self, err: Errno) -> KResult<()> {
        self.dpp
            .engine
            .as_owner(|c| sys::msg_error(c, self.rcvid, err))
    }
}
