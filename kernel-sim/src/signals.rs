//! Signals and the simulated kernel: QNX's rule that a signal handler never runs inside the
//! kernel.
//!
//! On QNX a kernel call is a trap: a signal is acted on when its thread leaves the kernel, and
//! a thread blocked in MsgSend or MsgReceive is first made to leave its call (EINTR, or the
//! unblock protocol on an `_NTO_CHF_UNBLOCK` channel). Here a kernel call is ordinary code in
//! the caller's thread, so Linux could run a handler in the middle of one: holding the kernel
//! lock (a handler's own kernel call would then wait for a lock its own thread holds), or
//! asleep in a blocked call (whose bookkeeping the handler's call would overwrite). This
//! module gives back QNX's rule:
//!
//! * **Handlers run outside the kernel.** The crate provides `sigaction`, `signal`,
//!   `bsd_signal` and `sysv_signal` (a program's calls, and its libraries' calls through the C
//!   library's `sigaction`, reach these first; they hand every other case to the C library
//!   unchanged). They install the program's handler behind a trampoline. A signal that arrives
//!   while its thread is inside the kernel is recorded, and its handler runs when the thread
//!   leaves the kernel, with the mask it would have had; outside the kernel the handler runs at
//!   once, as usual. So a handler may make kernel calls (`MsgSendPulse` from a timer's
//!   `SIGEV_SIGNAL` handler is the common case).
//! * **A signal interrupts a blocked call**, as on QNX (`calls::srr::Why::Signal`): the thread
//!   leaves with EINTR, or, REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel, asks the server to
//!   let it go and waits for its answer. A call the kernel had already readied returns its
//!   result: nothing it took is lost. Kernel waits are futex waits with a deadline, which Linux
//!   always ends with EINTR once a handler has run, so this holds for any handler.
//! * **A kernel call from a handler that interrupted a kernel call of its own thread** fails
//!   with EDEADLK instead of deadlocking. Only a handler installed behind the C library's back
//!   (the raw `rt_sigaction` system call) can make one.
//!
//! Synchronous signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS) and the signals that
//! cannot be caught are left alone: their handlers are installed as given.

#[cfg(not(loom))]
mod imp {
    use std::cell::Cell;
    use std::mem::MaybeUninit;
    use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

    use libc::{c_int, c_void, siginfo_t};

    /// Linux's signals are 1..=64.
    const NSIG: usize = 65;
    /// Signals recorded while inside the kernel, per thread (more are merged: a standard
    /// signal already pending is not recorded twice; past this many, newer ones are dropped).
    const QUEUE: usize = 32;

    type Info = MaybeUninit<siginfo_t>;

    thread_local! {
        /// How deep the thread is in kernel code (0: outside).
        static DEPTH: Cell<u32> = const { Cell::new(0) };
        /// Signals that arrived while inside the kernel, so far.
        static ARRIVALS: Cell<u64> = const { Cell::new(0) };
        /// Recorded signals: how many, their numbers and their `siginfo_t`s, oldest first.
        static LEN: Cell<usize> = const { Cell::new(0) };
        static SIGS: [Cell<c_int>; QUEUE] = const { [const { Cell::new(0) }; QUEUE] };
        static INFOS: [Cell<Info>; QUEUE] = const { [const { Cell::new(MaybeUninit::zeroed()) }; QUEUE] };
        /// The wait word the thread is blocked on in a kernel call (0: none).
        static BLOCKED_ON: Cell<usize> = const { Cell::new(0) };
    }

    /// The program's handlers behind the trampoline: address (0: none), `sa_flags`, and the
    /// first 64 bits of `sa_mask` (all of Linux's signals).
    static HANDLER: [AtomicUsize; NSIG] = [const { AtomicUsize::new(0) }; NSIG];
    static FLAGS: [AtomicI32; NSIG] = [const { AtomicI32::new(0) }; NSIG];
    static MASK: [AtomicU64; NSIG] = [const { AtomicU64::new(0) }; NSIG];

    extern "C" {
        /// The C library's own `sigaction` (glibc exports it under this name too).
        fn __sigaction(
            sig: c_int,
            act: *const libc::sigaction,
            oact: *mut libc::sigaction,
        ) -> c_int;
    }

    /// Whether the trampoline may stand in for `sig`'s handler.
    fn wrappable(sig: c_int) -> bool {
        (1..NSIG as c_int).contains(&sig)
            && !matches!(
                sig,
                libc::SIGKILL
                    | libc::SIGSTOP
                    | libc::SIGSEGV
                    | libc::SIGBUS
                    | libc::SIGILL
                    | libc::SIGFPE
                    | libc::SIGTRAP
                    | libc::SIGSYS
            )
    }

    /// Marks the calling thread as inside the kernel until dropped; leaving the outermost
    /// level runs the handlers of the signals that arrived meanwhile.
    #[derive(Debug)]
    pub(crate) struct Entered {
        _not_send: std::marker::PhantomData<*const ()>,
    }

    impl Entered {
        #[inline]
        pub(crate) fn new() -> Entered {
            DEPTH.with(|d| d.set(d.get() + 1));
            Entered {
                _not_send: std::marker::PhantomData,
            }
        }
    }

    impl Drop for Entered {
        #[inline]
        fn drop(&mut self) {
            let d = DEPTH.with(|d| {
                let v = d.get() - 1;
                d.set(v);
                v
            });
            if d == 0 && LEN.with(Cell::get) > 0 {
                run_deferred();
            }
        }
    }

    /// Whether the calling thread is inside the kernel.
    #[inline]
    pub(crate) fn in_kernel() -> bool {
        DEPTH.with(Cell::get) > 0
    }

    /// Marks the calling thread as blocked on `word` (until the returned guard is dropped): a
    /// signal recorded meanwhile bumps the word, so the wait ends (Linux restarts a futex wait
    /// after an `SA_RESTART` handler, and the restarted wait then sees the word changed).
    pub(crate) fn blocked_on(word: &crate::wait::WaitWord) -> BlockedOn {
        BLOCKED_ON.with(|b| b.set(word as *const crate::wait::WaitWord as usize));
        BlockedOn {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Ends [`blocked_on`].
    #[derive(Debug)]
    pub(crate) struct BlockedOn {
        _not_send: std::marker::PhantomData<*const ()>,
    }

    impl Drop for BlockedOn {
        fn drop(&mut self) {
            BLOCKED_ON.with(|b| b.set(0));
        }
    }

    /// Signals that arrived while the calling thread was inside the kernel, so far (a blocked
    /// call compares two readings to learn that one came).
    #[inline]
    pub(crate) fn arrivals() -> u64 {
        ARRIVALS.with(Cell::get)
    }

    fn record(sig: c_int, info: *const siginfo_t) {
        ARRIVALS.with(|a| a.set(a.get().wrapping_add(1)));
        let n = LEN.with(Cell::get);
        let standard = sig < 32;
        if standard && SIGS.with(|s| s[..n].iter().any(|c| c.get() == sig)) {
            return; // a standard signal does not queue twice
        }
        if n == QUEUE {
            return;
        }
        let mut copy: Info = MaybeUninit::zeroed();
        if !info.is_null() {
            // SAFETY: the kernel hands the handler a valid siginfo_t.
            copy = MaybeUninit::new(unsafe { info.read() });
        }
        SIGS.with(|s| s[n].set(sig));
        INFOS.with(|i| i[n].set(copy));
        LEN.with(|l| l.set(n + 1));
    }

    /// The trampoline every wrapped handler is installed behind.
    extern "C" fn trampoline(sig: c_int, info: *mut siginfo_t, uc: *mut c_void) {
        if !(1..NSIG as c_int).contains(&sig) {
            return;
        }
        if DEPTH.with(Cell::get) > 0 {
            record(sig, info);
            let w = BLOCKED_ON.with(Cell::get);
            if w != 0 {
                // SAFETY: `blocked_on` stored the address of a wait word of the region of the
                // kernel this thread is blocked in, which lives while the call does (the
                // guard clears it before the call returns). `post` is one atomic add.
                unsafe { &*(w as *const crate::wait::WaitWord) }.post();
            }
            return;
        }
        // SAFETY: called as a signal handler would be, with the kernel's arguments.
        unsafe { call_handler(sig, info, uc) };
    }

    /// Calls the program's handler for `sig`.
    ///
    /// # Safety
    /// `info` and `uc` must be what a handler of `sig` may receive (valid or null).
    unsafe fn call_handler(sig: c_int, info: *mut siginfo_t, uc: *mut c_void) {
        let i = sig as usize;
        let h = HANDLER[i].load(Ordering::Acquire);
        if h == 0 || h == libc::SIG_DFL || h == libc::SIG_IGN {
            return;
        }
        if FLAGS[i].load(Ordering::Acquire) & libc::SA_SIGINFO != 0 {
            // SAFETY: the program installed `h` as an SA_SIGINFO handler.
            let f: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(h) };
            f(sig, info, uc);
        } else {
            // SAFETY: the program installed `h` as a plain handler.
            let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(h) };
            f(sig);
        }
    }

    fn block_all() -> libc::sigset_t {
        // SAFETY: sigfillset and pthread_sigmask write only the sets we pass.
        unsafe {
            let mut all = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            let mut old = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
            old
        }
    }

    fn set_mask(m: &libc::sigset_t) {
        // SAFETY: `m` is a valid set.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, m, std::ptr::null_mut()) };
    }

    /// Runs the handlers of the signals recorded while the thread was inside the kernel,
    /// oldest first, each with the mask the kernel would have given it.
    fn run_deferred() {
        loop {
            // Take the oldest with every signal blocked: a signal arriving now must not
            // interleave with the queue update.
            let old = block_all();
            let n = LEN.with(Cell::get);
            if n == 0 {
                set_mask(&old);
                return;
            }
            let sig = SIGS.with(|s| s[0].get());
            let mut info = INFOS.with(|i| i[0].get());
            SIGS.with(|s| {
                for k in 1..n {
                    s[k - 1].set(s[k].get());
                }
            });
            INFOS.with(|inf| {
                for k in 1..n {
                    inf[k - 1].set(inf[k].get());
                }
            });
            LEN.with(|l| l.set(n - 1));
            let mut m = old;
            let extra = MASK[sig as usize].load(Ordering::Acquire);
            for s in 1..NSIG as c_int {
                if extra & (1u64 << (s - 1)) != 0 {
                    // SAFETY: `m` is a valid set and `s` a valid signal number.
                    unsafe { libc::sigaddset(&mut m, s) };
                }
            }
            if FLAGS[sig as usize].load(Ordering::Acquire) & libc::SA_NODEFER == 0 {
                // SAFETY: as above.
                unsafe { libc::sigaddset(&mut m, sig) };
            }
            set_mask(&m);
            // SAFETY: `info` is the siginfo_t the kernel gave the trampoline (or zeroes); there
            // is no ucontext to give (the interrupted context is gone).
            unsafe { call_handler(sig, info.as_mut_ptr(), std::ptr::null_mut()) };
            set_mask(&old);
        }
    }

    fn mask_bits(set: &libc::sigset_t) -> u64 {
        let mut bits = 0u64;
        for s in 1..NSIG as c_int {
            // SAFETY: `set` is a valid set and `s` a valid signal number.
            if unsafe { libc::sigismember(set, s) } == 1 {
                bits |= 1 << (s - 1);
            }
        }
        bits
    }

    fn bits_mask(bits: u64) -> libc::sigset_t {
        // SAFETY: sigemptyset and sigaddset write only the set we pass.
        unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            libc::sigemptyset(&mut set);
            for s in 1..NSIG as c_int {
                if bits & (1 << (s - 1)) != 0 {
                    libc::sigaddset(&mut set, s);
                }
            }
            set
        }
    }

    /// `sigaction(2)`, as the kernel needs it (see the module doc): the program's handler goes
    /// behind the trampoline; everything else is the C library's.
    ///
    /// # Safety
    /// As `sigaction(2)`: `act` and `oact` are null or valid.
    #[no_mangle]
    pub unsafe extern "C" fn sigaction(
        sig: c_int,
        act: *const libc::sigaction,
        oact: *mut libc::sigaction,
    ) -> c_int {
        if !wrappable(sig) {
            // SAFETY: forwarded as given.
            return unsafe { __sigaction(sig, act, oact) };
        }
        let i = sig as usize;
        // SAFETY: a zeroed sigaction is a valid output buffer.
        let mut cur: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: a query, into our own buffer.
        if unsafe { __sigaction(sig, std::ptr::null(), &mut cur) } != 0 {
            return -1;
        }
        if !oact.is_null() {
            let mut old = cur;
            if cur.sa_sigaction == trampoline as *const () as usize {
                // Report the program's handler, not ours.
                old.sa_sigaction = HANDLER[i].load(Ordering::Acquire);
                old.sa_flags = FLAGS[i].load(Ordering::Acquire);
                old.sa_mask = bits_mask(MASK[i].load(Ordering::Acquire));
            }
            // SAFETY: the caller passed a valid `oact`.
            unsafe { oact.write(old) };
        }
        if act.is_null() {
            return 0;
        }
        // SAFETY: the caller passed a valid `act`.
        let new = unsafe { act.read() };
        if new.sa_sigaction == libc::SIG_DFL || new.sa_sigaction == libc::SIG_IGN {
            HANDLER[i].store(0, Ordering::Release);
            // SAFETY: forwarded as given.
            return unsafe { __sigaction(sig, act, std::ptr::null_mut()) };
        }
        // The handler's details first, then the trampoline that reads them.
        FLAGS[i].store(new.sa_flags, Ordering::Release);
        MASK[i].store(mask_bits(&new.sa_mask), Ordering::Release);
        HANDLER[i].store(new.sa_sigaction, Ordering::Release);
        let mut ours = new;
        ours.sa_sigaction = trampoline as *const () as usize;
        ours.sa_flags = new.sa_flags | libc::SA_SIGINFO;
        // SAFETY: `ours` is a valid action.
        unsafe { __sigaction(sig, &ours, std::ptr::null_mut()) }
    }

    /// `signal()` with BSD semantics (glibc's): the handler stays installed, interrupted
    /// system calls restart, and the signal is blocked while its handler runs.
    fn bsd(sig: c_int, handler: libc::sighandler_t, flags: c_int) -> libc::sighandler_t {
        // SAFETY: a zeroed sigaction is valid (null handler, empty flags and mask).
        let mut act: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: as above.
        let mut old: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        act.sa_sigaction = handler;
        act.sa_flags = flags;
        // SAFETY: `act.sa_mask` is ours to fill.
        unsafe {
            libc::sigemptyset(&mut act.sa_mask);
            if flags & libc::SA_NODEFER == 0 {
                libc::sigaddset(&mut act.sa_mask, sig);
            }
        }
        // SAFETY: valid arguments.
        if unsafe { sigaction(sig, &act, &mut old) } != 0 {
            return libc::SIG_ERR;
        }
        old.sa_sigaction
    }

    /// `signal(3)` (glibc's BSD semantics), through [`sigaction`].
    ///
    /// # Safety
    /// As `signal(3)`.
    #[export_name = "signal"]
    pub unsafe extern "C" fn signal_interposed(
        sig: c_int,
        handler: libc::sighandler_t,
    ) -> libc::sighandler_t {
        bsd(sig, handler, libc::SA_RESTART)
    }

    /// `bsd_signal(3)`, through [`sigaction`].
    ///
    /// # Safety
    /// As `bsd_signal(3)`.
    #[export_name = "bsd_signal"]
    pub unsafe extern "C" fn bsd_signal_interposed(
        sig: c_int,
        handler: libc::sighandler_t,
    ) -> libc::sighandler_t {
        bsd(sig, handler, libc::SA_RESTART)
    }

    /// `sysv_signal(3)` (one-shot, not blocked while it runs), through [`sigaction`].
    ///
    /// # Safety
    /// As `sysv_signal(3)`.
    #[export_name = "sysv_signal"]
    pub unsafe extern "C" fn sysv_signal_interposed(
        sig: c_int,
        handler: libc::sighandler_t,
    ) -> libc::sighandler_t {
        bsd(sig, handler, libc::SA_RESETHAND | libc::SA_NODEFER)
    }

    /// What a signal aimed at a simulated process does, judged by the Linux process's
    /// disposition of it (all simulated processes of an in-process kernel share one).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Disposition {
        /// A handler is installed: send the signal to the target thread.
        Handle,
        /// Ignored (explicitly, or by default: SIGCHLD, SIGURG, SIGWINCH, SIGCONT), or a stop
        /// signal, which a simulated process cannot obey: nothing happens.
        Ignore,
        /// The default action ends the process: the simulated process is destroyed, and only it.
        Terminate,
    }

    /// The disposition of `sig` now.
    pub fn disposition(sig: c_int) -> Disposition {
        if sig == libc::SIGKILL {
            return Disposition::Terminate;
        }
        // SAFETY: a zeroed sigaction is a valid output buffer.
        let mut cur: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: a query into our own buffer changes nothing.
        if unsafe { __sigaction(sig, std::ptr::null(), &mut cur) } != 0 {
            return Disposition::Ignore;
        }
        match cur.sa_sigaction {
            libc::SIG_IGN => Disposition::Ignore,
            libc::SIG_DFL => match sig {
                libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT => {
                    Disposition::Ignore
                }
                libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
                    Disposition::Ignore
                }
                _ => Disposition::Terminate,
            },
            _ => Disposition::Handle,
        }
    }

    /// Makes sure the object that defines `sigaction` and `signal` is linked into every program
    /// that makes a kernel (the linker includes an archive member only for a symbol someone
    /// refers to; the program's own references to `sigaction` may be resolved first).
    #[inline(never)]
    pub(crate) fn ensure_linked() {
        std::hint::black_box(sigaction as *const () as usize);
        std::hint::black_box(signal_interposed as *const () as usize);
    }

    /// Blocks every signal that can be blocked in the calling thread (the kernel's own
    /// threads: the timer service and the asyncmsg library thread), so that signals aimed at
    /// the process go to the program's threads.
    pub fn block_in_this_thread() {
        block_all();
    }
}

#[cfg(loom)]
mod imp {
    /// Under loom there are no signals: a no-op marker.
    #[derive(Debug)]
    pub(crate) struct Entered;
    impl Entered {
        pub(crate) fn new() -> Entered {
            Entered
        }
    }
    pub(crate) fn in_kernel() -> bool {
        false
    }
    pub(crate) fn arrivals() -> u64 {
        0
    }
    /// Under loom: a no-op marker.
    #[derive(Debug)]
    pub(crate) struct BlockedOn;
    pub(crate) fn blocked_on(_word: &crate::wait::WaitWord) -> BlockedOn {
        BlockedOn
    }
    /// What a signal aimed at a simulated process does.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Disposition {
        /// A handler is installed.
        Handle,
        /// Ignored.
        Ignore,
        /// Ends the simulated process.
        Terminate,
    }
    /// Under loom: always handled.
    pub fn disposition(_sig: i32) -> Disposition {
        Disposition::Handle
    }
    /// Under loom: nothing to block.
    pub fn block_in_this_thread() {}
    /// Under loom: nothing to link.
    pub(crate) fn ensure_linked() {}
}

pub(crate) use imp::{arrivals, blocked_on, ensure_linked, in_kernel, Entered};
pub use imp::{block_in_this_thread, disposition, Disposition};
