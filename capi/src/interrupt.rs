//! The interrupt calls of `<sys/neutrino.h>` over the simulated interrupts of
//! [`userlib::interrupt`]: `InterruptAttachEvent`, `InterruptAttach` (a C handler, run in the
//! process's interrupt service thread), QNX 8's `InterruptAttachThread`, `InterruptDetach`,
//! `InterruptMask`, `InterruptUnmask`, `InterruptWait`, each with its `_r` twin;
//! `InterruptLock`/`InterruptUnlock` and `InterruptDisable`/`InterruptEnable`; and the
//! emulator's `qnxsim_interrupt_raise` (`<qnxsim/interrupt.h>`), which stands in for the
//! hardware.
//!
//! "Interrupts", for `InterruptDisable` and `InterruptLock`, are the runs of this program's
//! `InterruptAttach` handlers: as on QNX a thread that disables them keeps every handler from
//! starting (and first waits for one under way to end) until it enables them again, so that
//! data it shares with a handler is safe from it. Each thread is one "CPU": `InterruptDisable`
//! twice and `InterruptEnable` once enables (QNX's cli/sti, not a count), and a thread that
//! ends with interrupts disabled enables them. Inside a handler interrupts are disabled
//! already: there `InterruptDisable`/`InterruptEnable` do nothing and `InterruptLock` only
//! takes the spinlock. Event attachments (`InterruptAttachEvent`) are not held back: their
//! "handler" is the kernel's, which masks the level and delivers the event.
//!
//! Not enforced, unlike QNX: the I/O privileges (`ThreadCtl(_NTO_TCTL_IO)`) QNX requires of
//! the caller of `InterruptAttach*` and `InterruptLock`/`InterruptDisable`.

use crate::sigevent::{event_in, CSigEvent};
use crate::{kernel_call, kernel_call_cancellable};
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult};
use libc::{c_int, c_uint, c_void};
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use userlib::interrupt as ui;

/// A count of the kernel's (a mask count, a number of attachments) as the C `int` QNX returns.
fn int(v: u32) -> KResult<c_int> {
    c_int::try_from(v).map_err(|_| Errno::EOVERFLOW)
}

// ------------------------------------------------------------------ attaching

unsafe fn attach_event(intr: c_int, event: *const CSigEvent, flags: c_uint) -> KResult<c_int> {
    // SAFETY: forwarded (NULL is EFAULT, as MsgDeliverEvent's).
    let ev = unsafe { event_in(event)? }.ok_or(Errno::EFAULT)?;
    ui::interrupt_attach_event(intr, &ev, flags)
}

/// The C handler of `InterruptAttach`.
pub type CHandler = unsafe extern "C" fn(area: *mut c_void, id: c_int) -> *const CSigEvent;

/// The `area` of an `InterruptAttach`, carried to the interrupt service thread.
#[derive(Clone, Copy, Debug)]
struct Area(*mut c_void);

// SAFETY: the area is the C program's memory, which QNX hands to its handler in interrupt
// context (another stack, any CPU) and never dereferences itself; here it is only passed back
// to the program's handler, in the interrupt service thread. Making the data safe to share
// with the handler is the program's part, as on QNX (InterruptLock, volatile, atomics).
unsafe impl Send for Area {}

unsafe fn attach(
    intr: c_int,
    handler: Option<CHandler>,
    area: *const c_void,
    _size: c_int,
    flags: c_uint,
) -> KResult<c_int> {
    let handler = handler.ok_or(Errno::EINVAL)?;
    let area = Area(area.cast_mut());
    ui::interrupt_attach(
        intr,
        move |id| {
            // (Rebound as a whole: a closure capturing only the field would not be Send.)
            let area = area;
            // SAFETY: the C program's handler, given its own area and the attachment's id, as
            // QNX calls it.
            let ev = as_handler(|| unsafe { handler(area.0, id) });
            handler_event(ev)
        },
        flags,
    )
}

/// The kernel's event for what a handler returned: NULL is none, and so is an event that is
/// no QNX event (there is no one to report it to; QNX's kernel would ignore it too).
fn handler_event(ev: *const CSigEvent) -> Option<SigEvent> {
    // SAFETY: a handler returns NULL or a pointer to an event it keeps alive (QNX's rule:
    // static or in the area), read here before the next run.
    unsafe { event_in(ev) }.ok().flatten()
}

unsafe fn attach_thread(intr: c_int, flags: c_uint) -> KResult<c_int> {
    ui::interrupt_attach_thread(intr, flags)
}

unsafe fn detach(id: c_int) -> KResult<c_int> {
    ui::interrupt_detach(id).map(|()| 0)
}

unsafe fn mask(intr: c_int, id: c_int) -> KResult<c_int> {
    int(ui::interrupt_mask(intr, id)?)
}

unsafe fn unmask(intr: c_int, id: c_int) -> KResult<c_int> {
    int(ui::interrupt_unmask(intr, id)?)
}

unsafe fn wait(flags: c_int, _timeout: *const u64) -> KResult<c_int> {
    // (`timeout`: not implemented, as QNX documents it; TimerTimeout bounds the wait.)
    let flags = c_uint::try_from(flags).map_err(|_| Errno::EINVAL)?;
    ui::interrupt_wait(flags).map(|()| 0)
}

unsafe fn raise(intr: c_int) -> KResult<c_int> {
    int(ui::interrupt_raise(intr)?)
}

kernel_call! {
    /// `InterruptAttachEvent(intr, event, flags)`: each raise of level `intr` masks it and
    /// delivers `event` to the calling thread, until `InterruptUnmask`. The attachment's id.
    /// EFAULT a NULL event; EINVAL a bad level, flags or event; EBUSY an exclusive conflict.
    InterruptAttachEvent, InterruptAttachEvent_r =
        attach_event(intr: c_int, event: *const CSigEvent, flags: c_uint) -> c_int;
    /// `InterruptAttach(intr, handler, area, size, flags)`: `handler(area, id)` runs at each
    /// raise of level `intr`, in the process's interrupt service thread, with the level
    /// masked; the event it returns (NULL: none) goes to the calling thread. `size` is not
    /// used (QNX locks the area's pages in memory). EINVAL a NULL handler, and as
    /// `InterruptAttachEvent`.
    InterruptAttach, InterruptAttach_r = attach(intr: c_int, handler: Option<CHandler>,
        area: *const c_void, size: c_int, flags: c_uint) -> c_int;
    /// QNX 8's `InterruptAttachThread(intr, flags)`: the calling thread serves level `intr`
    /// with `InterruptWait`, as with `InterruptAttachEvent` and a `SIGEV_INTR` event.
    InterruptAttachThread, InterruptAttachThread_r =
        attach_thread(intr: c_int, flags: c_uint) -> c_int;
    /// `InterruptDetach(id)`. EINVAL no such attachment; EPERM one another process made.
    InterruptDetach, InterruptDetach_r = detach(id: c_int) -> c_int;
    /// `InterruptMask(intr, id)`: the level's mask count after it. EINVAL bad level or id.
    InterruptMask, InterruptMask_r = mask(intr: c_int, id: c_int) -> c_int;
    /// `InterruptUnmask(intr, id)`: the level's mask count after it. EINVAL bad level or id.
    InterruptUnmask, InterruptUnmask_r = unmask(intr: c_int, id: c_int) -> c_int;
}

kernel_call_cancellable! {
    /// `InterruptWait(flags, timeout)`: blocks until a `SIGEV_INTR` event for the calling
    /// thread. `timeout` is ignored (QNX: not implemented; use TimerTimeout with
    /// `_NTO_TIMEOUT_INTR`, ETIMEDOUT). EINTR a signal; EINVAL unknown flags.
    InterruptWait, InterruptWait_r = wait(flags: c_int, timeout: *const u64) -> c_int;
}

/// `qnxsim_interrupt_raise(intr)` (`<qnxsim/interrupt.h>`, not QNX's): raises level `intr` of
/// the calling thread's kernel, as a device would. How many attachments it went to now (0: none,
/// or the level is masked and the request waits for its unmask); -1 and errno EINVAL a bad
/// level.
///
/// # Safety
/// None beyond a C caller's (no pointer is taken); `unsafe` as every entry point here.
#[no_mangle]
pub unsafe extern "C" fn qnxsim_interrupt_raise(intr: c_int) -> c_int {
    // SAFETY: no pointer is involved.
    crate::plain(crate::guard(|| unsafe { raise(intr) }))
}

// ------------------------------------------------------------------ disabling "interrupts"

/// The handler runs of this program and the threads that hold them off.
#[derive(Clone, Copy, Debug)]
struct Counts {
    /// Threads that have interrupts disabled.
    disabled: u32,
    /// Handlers held off, waiting for `disabled` to fall to 0.
    waiting: u32,
    /// Handlers under way.
    running: u32,
    /// The fork generation (`kernel_sim::fork::generation`) the counts are of: a forked
    /// child, whose only thread is the one that forked, starts them again.
    gen: u64,
}

/// [`Counts`] behind a lock that survives `fork()`: its word holds the fork generation of its
/// holder plus one (0: free), so that a child finding it held by a thread of its parent (which
/// it does not have) takes it over instead of waiting forever.
struct Gate {
    lock: std::sync::atomic::AtomicU64,
    counts: std::cell::UnsafeCell<Counts>,
}

// SAFETY: `counts` is reached only by the holder of `lock` (`Gate::with`).
unsafe impl Sync for Gate {}

static GATE: Gate = Gate {
    lock: std::sync::atomic::AtomicU64::new(0),
    counts: std::cell::UnsafeCell::new(Counts {
        disabled: 0,
        waiting: 0,
        running: 0,
        gen: 0,
    }),
};

impl Gate {
    /// Runs `f` on the counts, holding the lock (a short spin: the holders do nothing but
    /// count).
    fn with<R>(&self, f: impl FnOnce(&mut Counts) -> R) -> R {
        let gen = kernel_sim::fork::generation();
        let me = gen + 1;
        let mut spins = 0u32;
        loop {
            match self
                .lock
                .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => break,
                // Held before a fork by a thread this child does not have: ours now.
                Err(held)
                    if held != 0
                        && held != me
                        && self
                            .lock
                            .compare_exchange(held, me, Ordering::Acquire, Ordering::Relaxed)
                            .is_ok() =>
                {
                    break
                }
                Err(_) => {
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
        // SAFETY: we hold the lock: nobody else touches the counts until we release it.
        let counts = unsafe { &mut *self.counts.get() };
        if counts.gen != gen {
            // A forked child: no handler runs or waits in it, and only its one thread may
            // have interrupts disabled (it forked with them so).
            let mine = CPU.try_with(|c| c.disabled.get()).unwrap_or(false);
            *counts = Counts {
                disabled: u32::from(mine),
                waiting: 0,
                running: 0,
                gen,
            };
        }
        let r = f(counts);
        self.lock.store(0, Ordering::Release);
        r
    }

    /// Waits (polling, briefly sleeping) until `ready` holds of the counts, then runs `then`
    /// on them under the same hold of the lock.
    fn wait_then(&self, ready: impl Fn(&Counts) -> bool, then: impl Fn(&mut Counts)) {
        let mut naps = 0u32;
        loop {
            let done = self.with(|c| {
                if ready(c) {
                    then(c);
                    true
                } else {
                    false
                }
            });
            if done {
                return;
            }
            naps += 1;
            if naps < 16 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        }
    }
}

/// The calling thread as a "CPU": whether it has interrupts disabled, or runs a handler.
struct Cpu {
    disabled: Cell<bool>,
    in_handler: Cell<bool>,
}

impl Drop for Cpu {
    /// A thread that ends with interrupts disabled enables them.
    fn drop(&mut self) {
        if self.disabled.get() {
            GATE.with(|c| c.disabled = c.disabled.saturating_sub(1));
        }
    }
}

thread_local! {
    static CPU: Cpu = const {
        Cpu {
            disabled: Cell::new(false),
            in_handler: Cell::new(false),
        }
    };
}

/// Runs handler `f` once no thread has interrupts disabled, counted as under way meanwhile.
fn as_handler<T>(f: impl FnOnce() -> T) -> T {
    GATE.with(|c| c.waiting += 1);
    GATE.wait_then(
        |c| c.disabled == 0,
        |c| {
            c.waiting = c.waiting.saturating_sub(1);
            c.running += 1;
        },
    );
    let was = CPU.with(|c| c.in_handler.replace(true));
    // (A C handler does not unwind; the end is counted however `f` returns.)
    struct End(bool);
    impl Drop for End {
        fn drop(&mut self) {
            let _ = CPU.try_with(|c| c.in_handler.set(self.0));
            GATE.with(|c| c.running = c.running.saturating_sub(1));
        }
    }
    let _end = End(was);
    f()
}

/// Disables interrupts for the calling thread (outside a handler, if not already): a handler
/// under way is waited for, and so are those held off until now (as the interrupts pending at
/// an enable are taken before the next disable); then no handler starts until the enable.
fn disable() {
    // (First, so that a forked child's counts start from this thread's state before it.)
    GATE.with(|_| ());
    let newly = CPU
        .try_with(|c| !c.in_handler.get() && !c.disabled.replace(true))
        .unwrap_or(false);
    if !newly {
        return;
    }
    GATE.wait_then(|c| c.running == 0 && c.waiting == 0, |c| c.disabled += 1);
}

/// Enables interrupts for the calling thread, if it disabled them.
fn enable() {
    let was = CPU
        .try_with(|c| !c.in_handler.get() && c.disabled.replace(false))
        .unwrap_or(false);
    if was {
        GATE.with(|c| c.disabled = c.disabled.saturating_sub(1));
    }
}

/// `InterruptDisable()`: keeps this program's interrupt handlers from running (waiting for
/// one under way to end) until `InterruptEnable`. Not nested: one `InterruptEnable` undoes any
/// number of them, as QNX's. Inside a handler, nothing (interrupts are disabled there).
#[no_mangle]
pub extern "C" fn InterruptDisable() {
    disable();
}

/// `InterruptEnable()`: lets the handlers run again, if this thread disabled them.
#[no_mangle]
pub extern "C" fn InterruptEnable() {
    enable();
}

/// The spinlock word of an `intrspin_t` (QNX's `struct intrspin { volatile unsigned value; }`:
/// a pointer to it is a pointer to its word; 0 free, 1 held). None for NULL or a misaligned
/// pointer.
///
/// # Safety
/// `spin` is NULL or points at an `intrspin_t` that only these calls access while it is in
/// use.
unsafe fn spin_word<'a>(spin: *mut c_uint) -> Option<&'a AtomicU32> {
    if spin.is_null() || !spin.cast::<AtomicU32>().is_aligned() {
        return None;
    }
    // SAFETY: aligned, not NULL, valid and accessed only atomically while in use (our
    // caller's promise); `AtomicU32` has `unsigned`'s size.
    Some(unsafe { AtomicU32::from_ptr(spin) })
}

/// `InterruptLock(spin)`: disables interrupts (as `InterruptDisable`, not inside a handler),
/// then spins until it holds `spin` (0 free, 1 held). A NULL spin only disables.
///
/// # Safety
/// `spin` is NULL or points at an `intrspin_t` that every user reaches only through
/// `InterruptLock`/`InterruptUnlock`, valid while held.
#[no_mangle]
pub unsafe extern "C" fn InterruptLock(spin: *mut c_uint) {
    disable();
    // SAFETY: our caller's promise.
    let Some(word) = (unsafe { spin_word(spin) }) else {
        return;
    };
    let mut spins = 0u32;
    while word
        .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        // Its holder is a thread, which may be preempted: after a short spin, yield.
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// `InterruptUnlock(spin)`: releases `spin`, then enables interrupts (as `InterruptEnable`,
/// not inside a handler).
///
/// # Safety
/// As `InterruptLock`; the caller holds `spin`.
#[no_mangle]
pub unsafe extern "C" fn InterruptUnlock(spin: *mut c_uint) {
    // SAFETY: our caller's promise.
    if let Some(word) = unsafe { spin_word(spin) } {
        word.store(0, Ordering::Release);
    }
    enable();
}
