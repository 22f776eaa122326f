//! fork(): a child gets no kernel state of its parent's, and never hangs on it.
//!
//! On QNX a forked child is a new process with none of its parent's channels or connections
//! (`fork()` duplicates memory, not kernel objects). Here a kernel lives in the memory of the
//! Linux process, so a child inherits a copy of every kernel, taken while other threads of the
//! parent may have been in the middle of a kernel call, and with none of those threads running
//! in the child. Two things follow (handlers registered with `pthread_atfork`):
//!
//! * **The copy is consistent and unlocked.** Before fork, the forking thread takes every
//!   kernel's lock (a kernel call holds it for microseconds and never waits for anything under
//!   it); after fork, parent and child both release them. So the child never finds a lock held
//!   by a thread that does not exist in it.
//! * **The copy is not the child's kernel.** Each kernel remembers the fork generation it was
//!   made in; the child bumps the generation, and a call on a kernel from before the fork
//!   fails with ESRCH (its processes and threads are the parent's). Inspecting it still works.
//!   `userlib` gives the child a fresh default kernel and process on its first call, as QNX
//!   gives a forked child a fresh process.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation: 0 in the original process, bumped in each forked child.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// What fork handling needs of a kernel: a way to hold its lock across the fork.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) trait ForkLock: Send + Sync {
    /// Takes the kernel lock (before fork).
    fn lock_for_fork(&self);
    /// Releases it (after fork, in the parent and in the child).
    fn unlock_after_fork(&self);
}

#[cfg(not(loom))]
mod imp {
    use super::{ForkHooks, ForkLock, GENERATION};
    use crate::signals::{block_all, set_mask};
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
    use std::sync::{Arc, Once, Weak};

    /// The live kernels, and those locked across a fork in progress. Guarded by a spin flag, not
    /// a mutex: it is held across fork(), and the child must be able to release it.
    struct Registry {
        busy: AtomicBool,
        kernels: UnsafeCell<Vec<Weak<dyn ForkLock>>>,
        held: UnsafeCell<Vec<Arc<dyn ForkLock>>>,
        /// The forking thread's signal mask before `prepare` blocked every signal.
        mask: UnsafeCell<Option<libc::sigset_t>>,
    }

    // SAFETY: the cells are touched only by the holder of `busy`.
    unsafe impl Sync for Registry {}

    static REGISTRY: Registry = Registry {
        busy: AtomicBool::new(false),
        kernels: UnsafeCell::new(Vec::new()),
        held: UnsafeCell::new(Vec::new()),
        mask: UnsafeCell::new(None),
    };
    static HANDLERS: Once = Once::new();

    fn acquire() {
        while REGISTRY
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    fn release() {
        REGISTRY.busy.store(false, Ordering::Release);
    }

    /// Records a new kernel, and on first use installs the fork handlers.
    pub(crate) fn register(k: Weak<dyn ForkLock>) {
        ensure_handlers();
        excluded(|| {
            // SAFETY: we hold `busy` (`excluded`).
            let ks = unsafe { &mut *REGISTRY.kernels.get() };
            ks.retain(|w| w.strong_count() > 0);
            ks.push(k);
        });
    }

    extern "C" fn prepare() {
        // Every signal is blocked before the registry is taken, and stays blocked until it is
        // released (`unlock_all`): a handler that made a kernel call while this thread holds
        // kernel locks outside any kernel call would wait for its own thread, and one that
        // forked would spin for ever on the registry this thread holds (Linux restarts a fork
        // that finds a signal pending, after running the handler).
        let old = block_all();
        acquire();
        // SAFETY: we hold `busy`.
        unsafe { *REGISTRY.mask.get() = Some(old) };
        if crate::signals::in_kernel() {
            // fork() from a handler that interrupted this thread's kernel call (only possible
            // behind the C library's back): the locks cannot all be taken; the child still
            // treats every kernel as its parent's.
            return;
        }
        // SAFETY: we hold `busy`.
        let (ks, held) = unsafe { (&*REGISTRY.kernels.get(), &mut *REGISTRY.held.get()) };
        held.extend(ks.iter().filter_map(Weak::upgrade));
        for k in held.iter() {
            k.lock_for_fork();
        }
        // Last before the fork: the hooks' copies are as close to it as can be.
        if let Some(h) = hooks() {
            (h.prepare)();
        }
    }

    /// After the fork, in the parent (`child` false) or the child: the hooks first, then the
    /// kernels' locks, then the registry, and only then the signal mask (a signal that arrived
    /// during the fork is delivered with nothing of the fork's held).
    fn unlock_all(child: bool) {
        if let Some(h) = hooks() {
            if child {
                (h.child)();
            } else {
                (h.parent)();
            }
        }
        // SAFETY: `prepare` left `busy` held for us.
        let held = unsafe { &mut *REGISTRY.held.get() };
        for k in held.drain(..) {
            k.unlock_after_fork();
        }
        // SAFETY: as above; the mask was saved by `prepare`.
        let old = unsafe { (*REGISTRY.mask.get()).take() };
        release();
        if let Some(old) = old {
            set_mask(&old);
        }
    }

    extern "C" fn parent() {
        unlock_all(false);
    }

    extern "C" fn child() {
        GENERATION.fetch_add(1, Ordering::AcqRel);
        unlock_all(true);
    }

    /// The hooks set with [`set_hooks`] (null: none).
    static HOOKS: AtomicPtr<ForkHooks> = AtomicPtr::new(std::ptr::null_mut());

    fn hooks() -> Option<&'static ForkHooks> {
        // SAFETY: a non-null HOOKS is a `&'static ForkHooks` (set_hooks).
        unsafe { HOOKS.load(Ordering::Acquire).as_ref() }
    }

    /// Installs the fork handlers (once).
    fn ensure_handlers() {
        HANDLERS.call_once(|| {
            // SAFETY: the handlers are plain functions that live for the whole program.
            unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        });
    }

    /// Sets the process's fork hooks (one set; a later call replaces it): `prepare` runs as the
    /// last step before every fork, `parent` and `child` as the first after it, all in the
    /// forking thread, with every signal blocked and the registry held, so that no other
    /// thread is inside [`excluded`] meanwhile. They must not fork, allocate or take locks
    /// (the child runs them with only the forking thread).
    pub fn set_hooks(h: &'static ForkHooks) {
        ensure_handlers();
        HOOKS.store(h as *const ForkHooks as *mut ForkHooks, Ordering::Release);
    }

    /// Runs `f` while no fork is under way in this process (none starts until it returns),
    /// with every signal blocked (a handler that forked would wait for us for ever). For state
    /// the fork hooks read. `f` must be short, must not fork, and must not take a kernel's lock.
    pub fn excluded<R>(f: impl FnOnce() -> R) -> R {
        let old = block_all();
        acquire();
        struct Release(libc::sigset_t);
        impl Drop for Release {
            fn drop(&mut self) {
                release();
                set_mask(&self.0);
            }
        }
        let _release = Release(old);
        f()
    }
}

/// Functions a library runs at every fork of the process, inside the kernels' fork handling
/// ([`set_hooks`]).
#[derive(Debug)]
pub struct ForkHooks {
    /// The last step before the fork.
    pub prepare: fn(),
    /// The first step after it, in the parent.
    pub parent: fn(),
    /// The first step after it, in the child.
    pub child: fn(),
}

#[cfg(not(loom))]
pub(crate) use imp::register;
#[cfg(not(loom))]
pub use imp::{excluded, set_hooks};
