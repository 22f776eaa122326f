//! QNX's `select_attach` (`<sys/dispatch.h>`): a dispatch handle calls a function when a file
//! descriptor is readable, writable or has an exception, from the same `dispatch_block` /
//! `dispatch_handler` loop that serves its messages and pulses.
//!
//! The descriptors are **Linux file descriptors** (pipes, sockets, eventfds, character
//! devices, ...), watched through epoll. The wake-up reaches the handle as QNX's does: a pulse
//! of code [`SI_NOTIFY`] (-6) on the handle's own channel, whose value carries the fd's slot, a
//! 12-bit serial number and the conditions met (QNX's `_NOTIFY_COND_*` bits, which are the
//! `SELECT_FLAG_*` values); [`crate::dispatch::dispatch_handler`] routes it to the function
//! attached for the fd with the conditions met, and returns what the function returned.
//!
//! * The first `select_attach` on a handle makes its select state (kept on the handle with
//!   [`Engine::extension`], gone with it): an epoll set, a side-channel coid to the handle's
//!   channel (`message_connect(dpp, MSG_FLAG_SIDE_CHANNEL)`, as QNX's), and a pulse handler
//!   for `SI_NOTIFY`. While at least one fd is attached, a watcher thread (a library thread of
//!   the caller's process, as the asyncmsg library's: it sends no thread-death pulse)
//!   `epoll_wait`s and delivers the pulse through that coid; each fd is armed one-shot
//!   (`EPOLLONESHOT`), so one pulse is in flight per fd at most.
//! * Re-arming is QNX's: by default (`SELECT_FLAG_REARM` is redundant, as QNX's header says)
//!   the fd is armed again once its function returns; with [`SELECT_FLAG_NOREARM`] (which wins
//!   over `SELECT_FLAG_REARM`) it is armed once, until [`select_rearm`].
//! * A pulse for a slot detached (and perhaps reused) meanwhile carries an old serial number:
//!   it is dropped, and `dispatch_handler` returns 0 (as QNX's).
//! * The last `select_detach` stops the watcher thread; destroying (or dropping) the handle
//!   stops it and closes the epoll set.
//!
//! [`Selector`] is the machinery, generic over the function type: [`select_attach`] here uses
//! it with Rust closures, libqnxsim's C `select_attach` with C function pointers.
//!
//! ```
//! use userlib::dispatch::*;
//! use userlib::select::*;
//! use std::os::fd::AsRawFd;
//!
//! let (reader, mut writer) = std::io::pipe().unwrap();
//! let dpp = dispatch_create()?;
//! select_attach(&dpp, None, reader.as_raw_fd(), SELECT_FLAG_READ, |_ctp: &mut Context, _fd, flags| {
//!     assert_eq!(flags, SELECT_FLAG_READ);
//!     7
//! })?;
//! std::io::Write::write_all(&mut writer, b"x").unwrap();
//! let mut ctp = dispatch_context_alloc(&dpp)?;
//! dispatch_block(&mut ctp)?;
//! assert_eq!(dispatch_handler(&mut ctp), 7);
//! dispatch_destroy(&dpp)?;
//! # Ok::<(), userlib::Errno>(())
//! ```

use crate::current::{self, cleanup_in, with_current};
use crate::dispatch::{Context, Dispatch, Engine, MSG_FLAG_SIDE_CHANNEL, MSG_FLAG_TYPE_PULSE};
use crate::sys;
use kernel_sim::consts::PULSE_PRIO_CALLER;
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult, Kernel, Pid};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// `SELECT_FLAG_READ` (`_NOTIFY_COND_INPUT`): call when the fd is readable (or at its end, or
/// in error, as Linux's `select` counts them).
pub const SELECT_FLAG_READ: u32 = 0x1000_0000;
/// `SELECT_FLAG_WRITE` (`_NOTIFY_COND_OUTPUT`): call when the fd is writable (or in error).
pub const SELECT_FLAG_WRITE: u32 = 0x2000_0000;
/// `SELECT_FLAG_EXCEPT` (`_NOTIFY_COND_OBAND`): call when the fd has an exception
/// (`EPOLLPRI`: out-of-band data, a tty's state change, ...).
pub const SELECT_FLAG_EXCEPT: u32 = 0x4000_0000;
/// `SELECT_FLAG_REARM`: arm the fd again after each call (QNX's default: redundant).
pub const SELECT_FLAG_REARM: u32 = 0x0000_0001;
/// `SELECT_FLAG_SRVEXCEPT`: QNX's "call when the fd's server dies"; accepted, never met (a
/// Linux fd has no server: its end is a hang-up, reported as readable).
pub const SELECT_FLAG_SRVEXCEPT: u32 = 0x0000_0002;
/// `SELECT_FLAG_NOREARM`: arm the fd once, until [`select_rearm`] (wins over
/// `SELECT_FLAG_REARM`).
pub const SELECT_FLAG_NOREARM: u32 = 0x0000_0004;
/// `SI_NOTIFY`: the code of the pulse that tells a dispatch handle an fd is ready.
pub const SI_NOTIFY: i8 = -6;

/// The condition bits (`_NOTIFY_COND_MASK`'s, as far as select uses them).
const CONDS: u32 = SELECT_FLAG_READ | SELECT_FLAG_WRITE | SELECT_FLAG_EXCEPT;
const FLAGS: u32 = CONDS | SELECT_FLAG_REARM | SELECT_FLAG_SRVEXCEPT | SELECT_FLAG_NOREARM;
/// The serial number's bits (QNX's `_SELECT_SN_MASK`), at bit 16 of the pulse value.
const SN_MASK: u32 = 0xfff;
/// Slots are numbered in the pulse value's low 16 bits.
const MAX_SLOTS: usize = 0x1_0000;
/// The epoll token of the stop eventfd.
const STOP: u64 = u64::MAX;

/// `select_attr_t`: `{ unsigned flags; unsigned reserved[3]; }`; QNX defines no flags (any
/// set: EINVAL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SelectAttr {
    /// Zero.
    pub flags: u32,
}

/// Checks `select_attach`'s arguments as the call documents them: EINVAL `attr` flags, flags
/// other than `SELECT_FLAG_*`, no condition (`READ`, `WRITE`, `EXCEPT`) asked, `fd` negative.
pub fn check(attr_flags: u32, fd: RawFd, flags: u32) -> KResult<()> {
    if attr_flags != 0 || flags & !FLAGS != 0 || flags & CONDS == 0 || fd < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

fn last_errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

fn ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> KResult<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid epoll_event for the whole call, which only reads it.
    let r = unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// The epoll events that arm `conds` once.
fn interest(conds: u32) -> u32 {
    let mut e = libc::EPOLLONESHOT as u32;
    if conds & SELECT_FLAG_READ != 0 {
        e |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
    }
    if conds & SELECT_FLAG_WRITE != 0 {
        e |= libc::EPOLLOUT as u32;
    }
    if conds & SELECT_FLAG_EXCEPT != 0 {
        e |= libc::EPOLLPRI as u32;
    }
    e
}

/// Which of `conds` the epoll events `ev` meet, as Linux's `select` counts them (a hang-up or
/// an error is readable, an error writable, `EPOLLPRI` an exception).
fn met(ev: u32, conds: u32) -> u32 {
    let read = libc::EPOLLIN
        | libc::EPOLLRDNORM
        | libc::EPOLLRDBAND
        | libc::EPOLLHUP
        | libc::EPOLLERR
        | libc::EPOLLRDHUP;
    let write = libc::EPOLLOUT | libc::EPOLLWRNORM | libc::EPOLLWRBAND | libc::EPOLLERR;
    let mut m = 0;
    if ev & read as u32 != 0 {
        m |= SELECT_FLAG_READ;
    }
    if ev & write as u32 != 0 {
        m |= SELECT_FLAG_WRITE;
    }
    if ev & libc::EPOLLPRI as u32 != 0 {
        m |= SELECT_FLAG_EXCEPT;
    }
    m & conds
}

/// A slot's epoll token: its index, serial number and conditions.
fn token(index: usize, serial: u32, conds: u32) -> u64 {
    index as u64 | u64::from(serial) << 16 | u64::from(conds) << 32
}

struct Slot<F> {
    fd: RawFd,
    conds: u32,
    rearm: bool,
    serial: u32,
    func: F,
}

struct Inner<F> {
    /// The coid made and the `SI_NOTIFY` handler attached.
    ready: bool,
    /// The handle was destroyed.
    closed: bool,
    coid: i32,
    chid: i32,
    serial: u32,
    slots: Vec<Option<Slot<F>>>,
    live: usize,
    watcher: Option<JoinHandle<()>>,
}

/// A handle's select state: the epoll set, the fds attached (slots with serial numbers), the
/// side-channel coid and the watcher thread. Generic over the function type `F`; one per
/// dispatch handle, kept with [`Engine::extension`] ([`selector`] makes it).
pub struct Selector<F> {
    kernel: Kernel,
    pid: Pid,
    prio: i16,
    epfd: OwnedFd,
    stop: OwnedFd,
    inner: Mutex<Inner<F>>,
}

/// A pulse decoded by [`Selector::take`]: call `func(ctp, fd, flags)`, then hand it to
/// [`Selector::done`].
#[derive(Debug)]
pub struct Fired<F> {
    /// The fd.
    pub fd: RawFd,
    /// The conditions met (`SELECT_FLAG_READ`, `_WRITE`, `_EXCEPT`).
    pub flags: u32,
    /// The function attached for it.
    pub func: F,
    slot: usize,
    serial: u32,
}

impl<F> std::fmt::Debug for Selector<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Selector")
            .field("epfd", &self.epfd.as_raw_fd())
            .field("fds", &s.live)
            .field("watching", &s.watcher.is_some())
            .finish()
    }
}

impl<F> Selector<F> {
    fn lock(&self) -> MutexGuard<'_, Inner<F>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<F: Clone + Send + Sync + 'static> Selector<F> {
    /// A new, empty state for the calling thread's process: the epoll set with the stop
    /// eventfd in it. The `epoll_create1` and `eventfd` errors (EMFILE, ENFILE, ENOMEM).
    fn new() -> KResult<Selector<F>> {
        let (kernel, pid) = current::current_process()?;
        let prio = with_current(|c| Ok(i16::from(c.priority()?.0)))?;
        // SAFETY: epoll_create1 has no preconditions.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(last_errno());
        }
        // SAFETY: a fresh fd, ours alone.
        let epfd = unsafe { OwnedFd::from_raw_fd(ep) };
        // SAFETY: eventfd has no preconditions.
        let ev = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if ev < 0 {
            return Err(last_errno());
        }
        // SAFETY: a fresh fd, ours alone.
        let stop = unsafe { OwnedFd::from_raw_fd(ev) };
        ctl(
            epfd.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            stop.as_raw_fd(),
            libc::EPOLLIN as u32,
            STOP,
        )?;
        Ok(Selector {
            kernel,
            pid,
            prio,
            epfd,
            stop,
            inner: Mutex::new(Inner {
                ready: false,
                closed: false,
                coid: -1,
                chid: -1,
                serial: 0,
                slots: Vec::new(),
                live: 0,
                watcher: None,
            }),
        })
    }

    /// Attaches `fd` for `flags` (checked by [`check`] before) with `func`, and arms it. EINVAL
    /// the handle destroyed; EBUSY `fd` attached already; ENOMEM 65536 fds attached; EAGAIN
    /// no watcher thread could be started; `epoll_ctl`'s: EBADF `fd` not open, EPERM a file
    /// epoll cannot watch (a regular file, a directory), ENOSPC the user's epoll watches
    /// exhausted.
    pub fn attach(self: &Arc<Self>, fd: RawFd, flags: u32, func: F) -> KResult<()> {
        let mut s = self.lock();
        if s.closed || !s.ready {
            return Err(Errno::EINVAL);
        }
        // A slot of the same fd number whose file was closed (epoll forgot it with the file)
        // is stale: the new attach takes it over. One still watched: EBUSY (epoll's EEXIST).
        let stale = s
            .slots
            .iter()
            .position(|x| x.as_ref().is_some_and(|sl| sl.fd == fd));
        let index = match stale.or_else(|| s.slots.iter().position(Option::is_none)) {
            Some(i) => i,
            None if s.slots.len() < MAX_SLOTS => {
                s.slots.push(None);
                s.slots.len() - 1
            }
            None => return Err(Errno::ENOMEM),
        };
        s.serial = (s.serial + 1) & SN_MASK;
        let serial = s.serial;
        let conds = flags & CONDS;
        let data = token(index, serial, conds);
        match ctl(
            self.epfd.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            interest(conds),
            data,
        ) {
            Err(Errno(libc::EEXIST)) => return Err(Errno::EBUSY),
            r => r?,
        }
        if s.watcher.is_none() {
            match self.spawn_watcher(s.coid, s.chid) {
                Ok(h) => s.watcher = Some(h),
                Err(e) => {
                    let _ = ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, 0, 0);
                    return Err(e);
                }
            }
        }
        if s.slots[index].is_none() {
            s.live += 1;
        }
        s.slots[index] = Some(Slot {
            fd,
            conds,
            rearm: flags & SELECT_FLAG_NOREARM == 0,
            serial,
            func,
        });
        Ok(())
    }

    /// Detaches `fd`: its function is not called again (a pulse already sent for it is
    /// dropped). The last one stops the watcher thread. EINVAL `fd` not attached, or the
    /// handle destroyed.
    pub fn detach(&self, fd: RawFd) -> KResult<()> {
        let mut s = self.lock();
        if s.closed {
            return Err(Errno::EINVAL);
        }
        let at = s
            .slots
            .iter()
            .position(|x| x.as_ref().is_some_and(|sl| sl.fd == fd))
            .ok_or(Errno::EINVAL)?;
        let slot = s.slots[at].take();
        s.live -= 1;
        // (ENOENT or EBADF: the fd was closed meanwhile, and epoll forgot it.)
        let _ = ctl(self.epfd.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, 0, 0);
        if s.live == 0 {
            self.stop_watcher(&mut s);
        }
        drop(s);
        drop(slot);
        Ok(())
    }

    /// `select_rearm`: arms `fd` again (for a `SELECT_FLAG_NOREARM` fd, or one whose function
    /// is still running). EINVAL `fd` not attached, or the handle destroyed; `epoll_ctl`'s
    /// (ENOENT or EBADF: the fd was closed).
    pub fn rearm(&self, fd: RawFd) -> KResult<()> {
        let s = self.lock();
        if s.closed {
            return Err(Errno::EINVAL);
        }
        let (i, sl) = s
            .slots
            .iter()
            .enumerate()
            .find_map(|(i, x)| x.as_ref().filter(|sl| sl.fd == fd).map(|sl| (i, sl)))
            .ok_or(Errno::EINVAL)?;
        let data = token(i, sl.serial, sl.conds);
        ctl(
            self.epfd.as_raw_fd(),
            libc::EPOLL_CTL_MOD,
            fd,
            interest(sl.conds),
            data,
        )
    }

    /// Decodes an `SI_NOTIFY` pulse's value: the slot's fd, the conditions met and its
    /// function, or `None` for a slot detached (or reused: another serial number) since.
    pub fn take(&self, value: i32) -> Option<Fired<F>> {
        if value < 0 {
            return None;
        }
        let v = value as u32;
        let index = (v & 0xffff) as usize;
        let serial = (v >> 16) & SN_MASK;
        let s = self.lock();
        let sl = s.slots.get(index)?.as_ref()?;
        if sl.serial != serial {
            return None;
        }
        Some(Fired {
            fd: sl.fd,
            flags: v & sl.conds,
            func: sl.func.clone(),
            slot: index,
            serial,
        })
    }

    /// After the function of `fired` returned: arms its fd again, unless it was attached with
    /// `SELECT_FLAG_NOREARM` or detached meanwhile. (An fd closed without `select_detach` is
    /// not armed again, as QNX invalidates a slot whose arming fails.)
    pub fn done(&self, fired: &Fired<F>) {
        let s = self.lock();
        if let Some(Some(sl)) = s.slots.get(fired.slot) {
            if sl.serial == fired.serial && sl.rearm && !s.closed {
                let data = token(fired.slot, sl.serial, sl.conds);
                let _ = ctl(
                    self.epfd.as_raw_fd(),
                    libc::EPOLL_CTL_MOD,
                    sl.fd,
                    interest(sl.conds),
                    data,
                );
            }
        }
    }

    /// Whether the watcher thread runs (some fd is attached).
    pub fn watching(&self) -> bool {
        self.lock().watcher.is_some()
    }

    /// The watcher thread's name: `sel<pid>.<chid>` (as Linux keeps it: 15 bytes at most).
    pub fn thread_name(&self) -> String {
        let chid = self.lock().chid;
        let mut n = format!("sel{}.{}", self.pid.pid, chid);
        n.truncate(15);
        n
    }

    fn spawn_watcher(self: &Arc<Self>, coid: i32, chid: i32) -> KResult<JoinHandle<()>> {
        let ctx = self
            .kernel
            .thread_attach_internal_for_another(self.pid, self.prio)?;
        let me = Arc::clone(self);
        let name = format!("sel{}.{}", self.pid.pid, chid);
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                // Signals aimed at the process go to the program's threads.
                kernel_sim::signals::block_in_this_thread();
                ctx.adopt_os_thread();
                drop(current::bind(ctx));
                me.watch(coid);
                drop(current::unbind());
            })
            .map_err(|_| Errno::EAGAIN)
    }

    /// The watcher's loop: waits on the epoll set, sends one `SI_NOTIFY` pulse per fd ready,
    /// ends at the stop eventfd (or when the pulse can no longer be sent: the channel or the
    /// process went).
    fn watch(&self, coid: i32) {
        let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 32];
        loop {
            // SAFETY: `evs` has room for the 32 events the call may write.
            let n = unsafe { libc::epoll_wait(self.epfd.as_raw_fd(), evs.as_mut_ptr(), 32, -1) };
            if n < 0 {
                if last_errno() == Errno::EINTR {
                    continue;
                }
                return;
            }
            for ev in &evs[..n as usize] {
                let (events, data) = (ev.events, ev.u64);
                if data == STOP {
                    return;
                }
                let m = met(events, (data >> 32) as u32);
                if m == 0 {
                    // (A hang-up of an fd watched for exceptions alone: left disarmed.)
                    continue;
                }
                let value = (data as u32 & 0x0fff_ffff) | m;
                let pulse = SigEvent::pulse(coid, PULSE_PRIO_CALLER, SI_NOTIFY, value as i32);
                if !deliver(&pulse) {
                    return;
                }
            }
        }
    }

    /// Stops the watcher thread (called with the state locked: the watcher never takes the
    /// lock) and empties the stop eventfd for the next one.
    fn stop_watcher(&self, s: &mut Inner<F>) {
        let Some(h) = s.watcher.take() else {
            return;
        };
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a buffer of 8 to our eventfd.
        let _ = unsafe { libc::write(self.stop.as_raw_fd(), one.as_ptr().cast(), 8) };
        if h.thread().id() != std::thread::current().id() {
            let _ = h.join();
        }
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a buffer of 8 from our (non-blocking) eventfd.
        let _ = unsafe { libc::read(self.stop.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
    }

    /// The handle is going: stops the watcher, forgets every fd, detaches the coid. Later
    /// calls fail with EINVAL.
    fn shutdown(&self) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        s.closed = true;
        self.stop_watcher(&mut s);
        let slots = std::mem::take(&mut s.slots);
        s.live = 0;
        let coid = std::mem::replace(&mut s.coid, -1);
        drop(s);
        drop(slots);
        if coid != -1 {
            cleanup_in(&self.kernel, self.pid, |c| sys::connect_detach(c, coid));
        }
    }
}

/// Sends the pulse event to the watcher's own process; false if it cannot be sent (a pulse
/// queue full is retried for up to a second).
fn deliver(ev: &SigEvent) -> bool {
    for _ in 0..1000 {
        match with_current(|c| sys::msg_deliver_event(c, 0, ev)) {
            Ok(()) => return true,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => return false,
        }
    }
    false
}

/// The select state of `engine`'s handle, made on first use: the epoll set, the side-channel
/// coid to the handle's channel (made now if there is none), `attach_pulse` (which attaches the
/// handle's `SI_NOTIFY` pulse handler, calling [`Selector::take`] and [`Selector::done`]), and
/// a destroy hook that stops the watcher. EINVAL a destroyed handle; the `ConnectAttach`,
/// `attach_pulse`, `epoll_create1` and `eventfd` errors.
pub fn selector<H: Clone, F: Clone + Send + Sync + 'static>(
    engine: &Engine<H>,
    attach_pulse: impl FnOnce() -> KResult<()>,
) -> KResult<Arc<Selector<F>>> {
    let sel = engine.extension(|_chid| Selector::<F>::new())?;
    let first = {
        let mut s = sel.lock();
        if s.closed {
            return Err(Errno::EINVAL);
        }
        if s.ready {
            false
        } else {
            let coid = engine.connect(MSG_FLAG_SIDE_CHANNEL)?;
            if let Err(e) = attach_pulse() {
                let _ = with_current(|c| sys::connect_detach(c, coid));
                return Err(e);
            }
            s.coid = coid;
            s.chid = engine.chid();
            s.ready = true;
            true
        }
    };
    if first {
        // (Outside the state's lock: a handle destroyed meanwhile runs the hook at once.)
        let w = Arc::downgrade(&sel);
        engine.on_destroy(Box::new(move || {
            if let Some(s) = w.upgrade() {
                s.shutdown();
            }
        }));
    }
    Ok(sel)
}

/// A select function as a handle keeps it: `(context, fd, conditions met) -> result`.
pub type SelectFn = Arc<dyn Fn(&mut Context, i32, u32) -> i32 + Send + Sync>;

/// The select state of a Rust [`Dispatch`] handle.
pub type SelectState = Selector<SelectFn>;

/// The `SI_NOTIFY` pulse handler of a Rust handle.
fn on_notify(ctp: &mut Context, _code: i32, _flags: u32) -> i32 {
    let Some(sel) = ctp.dispatch().engine().extension_if::<SelectState>() else {
        return 0;
    };
    let Some(p) = ctp.pulse() else {
        return 0;
    };
    let Some(fired) = sel.take(p.value as u32 as i32) else {
        return 0;
    };
    let r = (fired.func)(ctp, fired.fd, fired.flags);
    sel.done(&fired);
    r
}

fn state(dpp: &Dispatch) -> KResult<Arc<SelectState>> {
    selector(dpp.engine(), || {
        let code = i32::from(SI_NOTIFY);
        dpp.engine()
            .attach(None, MSG_FLAG_TYPE_PULSE, code, code, Arc::new(on_notify))
            .map(drop)
    })
}

/// `select_attach(dpp, attr, fd, flags, func, handle)`: `func(ctp, fd, met)` is called from
/// `dispatch_handler` when `fd` (a Linux fd) meets a condition of `flags`
/// ([`SELECT_FLAG_READ`], [`SELECT_FLAG_WRITE`], [`SELECT_FLAG_EXCEPT`]), `met` the conditions
/// met; what it returns, `dispatch_handler` returns. Armed again after each call unless
/// [`SELECT_FLAG_NOREARM`]. The first select attach makes the channel if there is none and
/// counts as an attach (contexts may be allocated). `func` runs one call at a time (see
/// [`select_attach_shared`]).
///
/// Errors: EINVAL `attr.flags` set, unknown flags, no condition, `fd` negative, a destroyed
/// handle; EBADF `fd` not open; EPERM `fd` a file epoll cannot watch (a regular file, a
/// directory: QNX would call at once); EBUSY `fd` attached to this handle already (QNX gives
/// it a second slot: docs/deviations.md); ENOMEM 65536 fds attached; EAGAIN no watcher thread;
/// the `ChannelCreate`, `ConnectAttach`, `epoll_create1`, `eventfd` errors.
pub fn select_attach(
    dpp: &Dispatch,
    attr: Option<&SelectAttr>,
    fd: RawFd,
    flags: u32,
    func: impl FnMut(&mut Context, i32, u32) -> i32 + Send + 'static,
) -> KResult<()> {
    let func = Mutex::new(func);
    select_attach_shared(dpp, attr, fd, flags, move |ctp: &mut Context, fd, met| {
        let mut f = func.lock().unwrap_or_else(|p| p.into_inner());
        f(ctp, fd, met)
    })
}

/// [`select_attach`] with a function that may run for several threads at once (a thread
/// pool's: an `Fn`, not serialised).
pub fn select_attach_shared(
    dpp: &Dispatch,
    attr: Option<&SelectAttr>,
    fd: RawFd,
    flags: u32,
    func: impl Fn(&mut Context, i32, u32) -> i32 + Send + Sync + 'static,
) -> KResult<()> {
    check(attr.map_or(0, |a| a.flags), fd, flags)?;
    state(dpp)?.attach(fd, flags, Arc::new(func))
}

/// `select_detach(dpp, fd)`: `fd`'s function is not called again. EINVAL `fd` not attached (or
/// nothing ever attached), a destroyed handle.
pub fn select_detach(dpp: &Dispatch, fd: RawFd) -> KResult<()> {
    dpp.engine()
        .extension_if::<SelectState>()
        .ok_or(Errno::EINVAL)?
        .detach(fd)
}

/// `select_rearm(ctp, fd)`'s work, on the handle: arms `fd` again (one attached with
/// [`SELECT_FLAG_NOREARM`]); in a select function, `select_rearm(ctp.dispatch(), fd)`. The
/// watcher thread sends the pulse when `fd` is ready (at once if it is): QNX's call may fake
/// that pulse into `ctp` instead. EINVAL `fd` not attached, a destroyed handle; ENOENT or EBADF
/// `fd` closed since it was attached.
pub fn select_rearm(dpp: &Dispatch, fd: RawFd) -> KResult<()> {
    dpp.engine()
        .extension_if::<SelectState>()
        .ok_or(Errno::EINVAL)?
        .rearm(fd)
}
