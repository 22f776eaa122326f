//! Simulated interrupts: QNX's InterruptAttachEvent, InterruptAttach (a handler), InterruptWait,
//! InterruptMask, InterruptUnmask and InterruptDetach, and [`interrupt_raise`], which stands in
//! for a device raising its interrupt request.
//!
//! A handler attached with [`interrupt_attach`] runs, as an ISR would, with its level masked,
//! in the process's *interrupt service thread*: a library thread (priority 255, marked as the
//! library's in listings) started with the process's first handler. The event it returns goes
//! to the thread that attached it (`SIGEV_INTR`: to that thread's [`interrupt_wait`]). Unlike
//! a QNX ISR it is ordinary code in a thread: it may block, take locks or make any call, and a
//! long handler only delays the next one.
//!
//! ```
//! use userlib::interrupt::{interrupt_attach_event, interrupt_raise, interrupt_unmask, interrupt_wait};
//! use userlib::SigEvent;
//!
//! // A driver's interrupt service thread: wait, serve the device, unmask.
//! let id = interrupt_attach_event(9, &SigEvent::intr(), 0).unwrap();
//! let device = std::thread::spawn(|| interrupt_raise(9).unwrap()); // the hardware
//! interrupt_wait(0).unwrap();
//! // ... read the device's registers ...
//! assert_eq!(interrupt_unmask(9, id).unwrap(), 0);
//! device.join().unwrap();
//! userlib::interrupt::interrupt_detach(id).unwrap();
//! ```

use crate::current::with_current;
use kernel_sim::types::SigEvent;
use kernel_sim::{Errno, KResult, Kernel, Pid};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// A handler: called with the attachment's id, returns the event to deliver (or none).
pub type Handler = Box<dyn FnMut(i32) -> Option<SigEvent> + Send>;

/// The handlers of one simulated process, by attachment id, shared with its service thread.
type Handlers = Arc<Mutex<HashMap<i32, Handler>>>;

/// Every process's handlers in this program: (kernel, pid) -> handlers. A process's service
/// thread holds its own map; the entry here finds it for the next attach.
static PROCESSES: Mutex<Table> = Mutex::new(Vec::new());

/// [`PROCESSES`]'s entries: (kernel id, pid, handlers).
type Table = Vec<(u64, i32, Handlers)>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // (A handler that panicked poisoned nothing we rely on: the map stays consistent.)
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `InterruptAttachEvent(intr, event, flags)`: each raise of level `intr` (0 to 255) masks the
/// level and delivers `event` to the calling thread (`SIGEV_INTR`: to its [`interrupt_wait`];
/// `SIGEV_PULSE`: a pulse on one of its process's connections), until [`interrupt_unmask`].
/// `flags`: `_NTO_INTR_FLAGS_*` (`_TRK_MSK`, `_END`, `_NO_UNMASK`, `_EXCLUSIVE`,
/// `_PROCESS`). Returns the attachment's id. EINVAL bad level, flags or event; EBUSY an
/// exclusive attachment stands in the way; EAGAIN no attachment left.
pub fn interrupt_attach_event(intr: i32, event: &SigEvent, flags: u32) -> KResult<i32> {
    with_current(|c| c.interrupt_attach_event(intr, event, flags))
}

/// QNX 8's `InterruptAttachThread(intr, flags)`: the calling thread becomes the level's
/// interrupt service thread, as [`interrupt_attach_event`] with a `SIGEV_INTR` event.
pub fn interrupt_attach_thread(intr: i32, flags: u32) -> KResult<i32> {
    interrupt_attach_event(intr, &SigEvent::intr(), flags)
}

/// `InterruptAttach(intr, handler, area, size, flags)`: `handler` runs at each raise of level
/// `intr`, in the process's interrupt service thread, with the level masked until it returns;
/// the event it returns (if any) is delivered to the calling thread. Returns the attachment's
/// id, which the handler is given. Errors as [`interrupt_attach_event`]; EAGAIN also when no
/// service thread could be started.
pub fn interrupt_attach(
    intr: i32,
    handler: impl FnMut(i32) -> Option<SigEvent> + Send + 'static,
    flags: u32,
) -> KResult<i32> {
    with_current(|c| {
        let handlers = service_of(c.kernel(), c.process())?;
        // (The map is held across the attach: the service thread, given the new id by a
        // raise that comes first, waits for its handler here.)
        let mut map = lock(&handlers);
        let id = c.interrupt_attach_handler(intr, flags)?;
        // The handlers of attachments that ended without a detach (their threads ended, the
        // attachments being theirs without `_NTO_INTR_FLAGS_PROCESS`) go now.
        if !map.is_empty() {
            let pid = c.pid();
            let live: std::collections::HashSet<i32> = c
                .kernel()
                .snapshot()
                .interrupts
                .iter()
                .filter(|i| i.pid == pid && i.handler)
                .map(|i| i.id)
                .collect();
            map.retain(|id, _| live.contains(id));
        }
        map.insert(id, Box::new(handler));
        Ok(id)
    })
}

/// `InterruptDetach(id)`: ends the attachment (its handler, if any, is dropped once a run under
/// way ends). With `_NTO_INTR_FLAGS_TRK_MSK` the masks it holds are given back. EINVAL no such
/// attachment of this process.
pub fn interrupt_detach(id: i32) -> KResult<()> {
    with_current(|c| {
        c.interrupt_detach(id)?;
        let found = lock(&PROCESSES)
            .iter()
            .find(|(k, pid, _)| *k == c.kernel().id() && *pid == c.pid())
            .map(|(_, _, h)| h.clone());
        if let Some(h) = found {
            let gone = lock(&h).remove(&id);
            drop(gone);
        }
        Ok(())
    })
}

/// `InterruptMask(intr, id)`: masks level `intr` once more (`id`: an attachment of this
/// process on it, or -1); returns the level's mask count. EINVAL bad level or id.
pub fn interrupt_mask(intr: i32, id: i32) -> KResult<u32> {
    with_current(|c| c.interrupt_mask(intr, id))
}

/// `InterruptUnmask(intr, id)`: unmasks level `intr` once; a request that came while it was
/// masked is delivered when the count reaches 0. Returns the level's mask count. EINVAL bad
/// level or id.
pub fn interrupt_unmask(intr: i32, id: i32) -> KResult<u32> {
    with_current(|c| c.interrupt_unmask(intr, id))
}

/// `InterruptWait(flags, NULL)`: blocks (INTR) until a `SIGEV_INTR` event comes for the
/// calling thread, or returns at once if one came since its last wait. `flags` 0, or QNX 8's
/// `_NTO_INTR_WAIT_FLAGS_UNMASK` (first unmask what this thread's event attachments hold
/// masked) and `_NTO_INTR_WAIT_FLAGS_FAST`. Bounded by a TimerTimeout with
/// `_NTO_TIMEOUT_INTR` (ETIMEDOUT); EINTR a signal; EINVAL other flags.
pub fn interrupt_wait(flags: u32) -> KResult<()> {
    with_current(|c| c.interrupt_wait(flags))
}

/// Raises level `intr` of the calling thread's kernel, as a device would (see
/// `Kernel::interrupt_raise`): returns how many attachments it went to now (0 if the level is
/// masked: the request waits for the unmask). EINVAL bad level.
pub fn interrupt_raise(intr: i32) -> KResult<u32> {
    with_current(|c| c.kernel().interrupt_raise(intr))
}

/// The handlers of process `pid`, its service thread started if it was not.
fn service_of(kernel: &Kernel, pid: Pid) -> KResult<Handlers> {
    #[cfg(not(loom))]
    hold_across_fork();
    let mut all = lock(&PROCESSES);
    // (Entries of processes that ended, whose service thread has gone, are dropped.)
    all.retain(|(_, _, h)| Arc::strong_count(h) > 1);
    if let Some((_, _, h)) = all
        .iter()
        .find(|(k, p, _)| *k == kernel.id() && *p == pid.pid)
    {
        return Ok(h.clone());
    }
    let handlers: Handlers = Arc::default();
    let ctx = kernel.thread_attach_internal_for_another(pid, kernel_sim::consts::PRIO_MAX)?;
    let mine = handlers.clone();
    // (Made with every signal blocked, which it inherits: a signal aimed at the process never
    // finds it unblocked, not even before its first instruction.)
    let _blocked = crate::current::SignalsBlocked::new();
    std::thread::Builder::new()
        .name(format!("intr-service-{}", pid.pid))
        .spawn(move || {
            // (A library thread: the signals aimed at the process go to the program's own.)
            kernel_sim::signals::block_in_this_thread();
            ctx.adopt_os_thread();
            // (Bound as the thread's own: a handler's calls are its process's.)
            drop(crate::current::bind(ctx));
            serve(&mine);
            drop(crate::current::unbind());
        })
        .map_err(|_| Errno::EAGAIN)?;
    all.push((kernel.id(), pid.pid, handlers.clone()));
    Ok(handlers)
}

/// Makes `fork()` take [`PROCESSES`]'s lock first and release it after, in the parent and in
/// the child (registered once, with the first handler): a child forked while another thread
/// held it would otherwise find it held by a thread it does not have, and its first
/// `interrupt_attach` would wait forever. (The fork handlers run in the forking thread, before
/// and after, so the guard is kept in its thread-local slot.)
#[cfg(not(loom))]
fn hold_across_fork() {
    thread_local! {
        static HELD: std::cell::RefCell<Option<MutexGuard<'static, Table>>> =
            const { std::cell::RefCell::new(None) };
    }
    extern "C" fn prepare() {
        let g = lock(&PROCESSES);
        let _ = HELD.try_with(|h| *h.borrow_mut() = Some(g));
    }
    extern "C" fn after() {
        let _ = HELD.try_with(|h| drop(h.borrow_mut().take()));
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers handlers with no preconditions; they take and drop a lock this
        // module only ever holds briefly, never while it forks.
        unsafe { libc::pthread_atfork(Some(prepare), Some(after), Some(after)) };
    });
}

/// The service thread: runs each handler the kernel hands it, then reports the run done with
/// the handler's event. Ends with its process (ESRCH).
fn serve(handlers: &Handlers) {
    loop {
        let id = match with_current(|c| c.interrupt_service_wait()) {
            Ok(id) => id,
            Err(Errno::EINTR) => continue,
            Err(_) => return,
        };
        // (Taken out while it runs, so that it may attach or detach itself; the map's lock
        // waits for an attach still inserting it.)
        let taken = lock(handlers).remove(&id);
        let Some(mut h) = taken else {
            let _ = with_current(|c| c.interrupt_service_done(id, None));
            continue;
        };
        let event = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(id))) {
            Ok(ev) => ev,
            Err(_) => {
                eprintln!(
                    "userlib: the interrupt handler of attachment {id} panicked; no event delivered"
                );
                None
            }
        };
        lock(handlers).insert(id, h);
        if with_current(|c| c.interrupt_service_done(id, event.as_ref())) == Err(Errno::EINVAL) {
            // Detached while it ran (its mask was given back then): the handler goes.
            let gone = lock(handlers).remove(&id);
            drop(gone);
        }
    }
}
