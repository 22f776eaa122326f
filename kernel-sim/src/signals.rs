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
    use std::sync::atomic::{AtomicPtr, Ordering};

    use libc::{c_int, c_void, siginfo_t};

    /// Linux's signals are 1..=64.
    const NSIG: usize = 65;
    /// Signals recorded while inside the kernel, per thread (a standard signal already recorded
    /// is not recorded twice, as Linux merges it; past this many, newer ones are held back
    /// pending in Linux, blocked until the thread leaves the kernel: [`record`]).
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
        /// Signals held back pending (bit `sig - 1`) because the record was full: blocked in
        /// the interrupted context's mask until the thread leaves the kernel.
        static HELD: Cell<u64> = const { Cell::new(0) };
    }

    /// A program's handler behind the trampoline: what it gave `sigaction`.
    #[derive(Clone, Copy, Debug)]
    struct Action {
        /// The handler's address.
        handler: usize,
        /// Its `sa_flags`.
        flags: c_int,
        /// Its `sa_mask`, as a set.
        mask: libc::sigset_t,
    }

    /// The program's handlers behind the trampoline, one record per signal (null: none). A
    /// record is never changed or freed once published (a handler change publishes a new one;
    /// the old ones stay: a few bytes per `sigaction` call), so the trampoline reads a
    /// consistent handler, flags and mask with one load, whatever races it.
    static ACTION: [AtomicPtr<Action>; NSIG] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; NSIG];

    fn action(sig: c_int) -> Option<Action> {
        let p = ACTION[sig as usize].load(Ordering::Acquire);
        // SAFETY: a published record is never changed or freed.
        unsafe { p.as_ref() }.copied()
    }

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
            if d == 0 && (LEN.with(Cell::get) > 0 || HELD.with(Cell::get) != 0) {
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

    /// Records signal `sig` (with `info`) that arrived inside the kernel, for its handler to
    /// run as the thread leaves it. With the record full, the signal is held back instead of
    /// lost (queued real-time signals are never dropped on QNX): queued again to this thread,
    /// with its siginfo, and blocked in the interrupted context's mask `uc` (restored when the
    /// trampoline returns), so that it stays pending in Linux until [`release_held`] unblocks
    /// it once the thread is out of the kernel.
    fn record(sig: c_int, info: *const siginfo_t, uc: *mut c_void) {
        ARRIVALS.with(|a| a.set(a.get().wrapping_add(1)));
        let n = LEN.with(Cell::get);
        let standard = sig < 32;
        if standard && SIGS.with(|s| s[..n].iter().any(|c| c.get() == sig)) {
            return; // a standard signal does not queue twice
        }
        if n == QUEUE {
            if !info.is_null() && !uc.is_null() {
                // SAFETY: async-signal-safe system calls on this thread, with the siginfo_t
                // the kernel gave the trampoline; `uc` is its ucontext_t, whose mask the
                // return from the trampoline restores.
                unsafe {
                    let r = libc::syscall(
                        libc::SYS_rt_tgsigqueueinfo,
                        libc::getpid(),
                        libc::syscall(libc::SYS_gettid),
                        sig,
                        info,
                    );
                    if r == 0 {
                        libc::sigaddset(&mut (*uc.cast::<libc::ucontext_t>()).uc_sigmask, sig);
                        HELD.with(|h| h.set(h.get() | 1 << (sig - 1)));
                    }
                }
            }
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

    /// Puts back the code of a signal sent with [`super::CARRIED_CODE`] (see there): the
    /// program's handler sees the code the sender gave, the carrier's bytes cleared.
    ///
    /// # Safety
    /// `info` is a valid, writable `siginfo_t`.
    unsafe fn uncarry(info: *mut siginfo_t) {
        // SAFETY: `info` is a whole siginfo_t (128 bytes): the offsets are inside it.
        unsafe {
            if (*info).si_code != super::CARRIED_CODE {
                return;
            }
            let raw = info.cast::<u8>();
            let mark = raw.add(super::CARRIED_AT).cast::<u32>();
            if mark.read_unaligned() != super::CARRIED_MARK {
                return;
            }
            let code = raw.add(super::CARRIED_AT + 4).cast::<i32>();
            (*info).si_code = code.read_unaligned();
            mark.write_unaligned(0);
            code.write_unaligned(0);
        }
    }

    /// Whether `sig`'s handler is the trampoline now (so a signal sent with
    /// [`super::CARRIED_CODE`] reaches the program's handler with its own code).
    pub(crate) fn carried_to_handler(sig: c_int) -> bool {
        if !wrappable(sig) {
            return false;
        }
        // SAFETY: a zeroed sigaction is a valid output buffer.
        let mut cur: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
        // SAFETY: a query into our own buffer changes nothing.
        let ok = unsafe { __sigaction(sig, std::ptr::null(), &mut cur) } == 0;
        ok && cur.sa_sigaction == trampoline as *const () as usize
    }

    /// The trampoline every wrapped handler is installed behind. It is installed with every
    /// signal blocked, so that recording cannot be interrupted by another signal; a handler it
    /// runs at once gets the mask the program asked for (the interrupted mask, plus the
    /// handler's `sa_mask`, plus the signal itself unless `SA_NODEFER`).
    extern "C" fn trampoline(sig: c_int, info: *mut siginfo_t, uc: *mut c_void) {
        if !(1..NSIG as c_int).contains(&sig) {
            return;
        }
        if !info.is_null() {
            // SAFETY: the kernel hands the handler a valid, writable siginfo_t.
            unsafe { uncarry(info) };
        }
        if DEPTH.with(Cell::get) > 0 {
            record(sig, info, uc);
            let w = BLOCKED_ON.with(Cell::get);
            if w != 0 {
                // SAFETY: `blocked_on` stored the address of a wait word of the region of the
                // kernel this thread is blocked in, which lives while the call does (the
                // guard clears it before the call returns). `post` is one atomic add.
                unsafe { &*(w as *const crate::wait::WaitWord) }.post();
            }
            return;
        }
        let Some(a) = action(sig) else { return };
        if !uc.is_null() {
            // SAFETY: the kernel hands an SA_SIGINFO handler its ucontext_t, whose
            // `uc_sigmask` is the mask the interrupted code had (restored on return).
            let interrupted = unsafe { (*(uc as *const libc::ucontext_t)).uc_sigmask };
            set_mask(&handler_mask(interrupted, sig, &a));
        }
        // SAFETY: called as a signal handler would be, with the kernel's arguments.
        unsafe { call_handler(sig, &a, info, uc) };
    }

    /// The mask a handler runs with: `base`, plus its `sa_mask`, plus `sig` unless
    /// `SA_NODEFER`.
    fn handler_mask(base: libc::sigset_t, sig: c_int, a: &Action) -> libc::sigset_t {
        let mut m = base;
        for s in 1..NSIG as c_int {
            // SAFETY: valid sets and signal numbers.
            unsafe {
                if libc::sigismember(&a.mask, s) == 1 {
                    libc::sigaddset(&mut m, s);
                }
            }
        }
        if a.flags & libc::SA_NODEFER == 0 {
            // SAFETY: as above.
            unsafe { libc::sigaddset(&mut m, sig) };
        }
        m
    }

    /// Calls the program's handler `a` for `sig`.
    ///
    /// # Safety
    /// `info` and `uc` must be what a handler of `sig` may receive (valid or null).
    unsafe fn call_handler(sig: c_int, a: &Action, info: *mut siginfo_t, uc: *mut c_void) {
        let h = a.handler;
        if h == 0 || h == libc::SIG_DFL || h == libc::SIG_IGN || h == libc::SIG_ERR {
            return;
        }
        if a.flags & libc::SA_SIGINFO != 0 {
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

    /// Blocks every signal of the calling thread; returns its mask before.
    pub(crate) fn block_all() -> libc::sigset_t {
        // SAFETY: sigfillset and pthread_sigmask write only the sets we pass.
        unsafe {
            let mut all = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            let mut old = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
            old
        }
    }

    /// Sets the calling thread's signal mask to `m`.
    pub(crate) fn set_mask(m: &libc::sigset_t) {
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
                release_held();
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
            if let Some(a) = action(sig) {
                set_mask(&handler_mask(old, sig, &a));
                // The context the handler gets is the thread's as it leaves the kernel (where
                // QNX delivers the signal), not the interrupted one (gone): a handler that
                // reads its ucontext reads a valid one.
                let mut uc = MaybeUninit::<libc::ucontext_t>::zeroed();
                // SAFETY: getcontext writes the calling thread's context into `uc`, ours.
                let got = unsafe { libc::getcontext(uc.as_mut_ptr()) } == 0;
                let ucp = if got {
                    uc.as_mut_ptr().cast::<c_void>()
                } else {
                    std::ptr::null_mut()
                };
                // SAFETY: `info` is the siginfo_t the kernel gave the trampoline (or zeroes);
                // `ucp` is a context getcontext filled, or null if it could not.
                unsafe { call_handler(sig, &a, info.as_mut_ptr(), ucp) };
            }
            set_mask(&old);
        }
    }

    /// Unblocks the signals [`record`] held back (the thread is out of the kernel): Linux
    /// delivers them now, through the trampoline, their handlers running at once.
    fn release_held() {
        let held = HELD.with(|h| h.replace(0));
        if held == 0 {
            return;
        }
        // SAFETY: sigemptyset/sigaddset/pthread_sigmask write only the set we pass.
        unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
            libc::sigemptyset(&mut set);
            for sig in 1..NSIG as c_int {
                if held & 1 << (sig - 1) != 0 {
                    libc::sigaddset(&mut set, sig);
                }
            }
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
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
        // Read the new action first: `act` and `oact` may be the same structure.
        // SAFETY: the caller passed a valid `act`, or null.
        let new = (!act.is_null()).then(|| unsafe { act.read() });
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
                if let Some(a) = action(sig) {
                    old.sa_sigaction = a.handler;
                    old.sa_flags = a.flags;
                    old.sa_mask = a.mask;
                }
            }
            // SAFETY: the caller passed a valid `oact`.
            unsafe { oact.write(old) };
        }
        let Some(new) = new else { return 0 };
        if new.sa_sigaction == libc::SIG_DFL || new.sa_sigaction == libc::SIG_IGN {
            // SAFETY: forwarded as given (from our copy).
            let r = unsafe { __sigaction(sig, &new, std::ptr::null_mut()) };
            if r == 0 {
                ACTION[sig as usize].store(std::ptr::null_mut(), Ordering::Release);
            }
            return r;
        }
        // The handler's record first, then the trampoline that reads it.
        let rec = Box::into_raw(Box::new(Action {
            handler: new.sa_sigaction,
            flags: new.sa_flags,
            mask: new.sa_mask,
        }));
        ACTION[sig as usize].store(rec, Ordering::Release);
        let mut ours = new;
        ours.sa_sigaction = trampoline as *const () as usize;
        ours.sa_flags = new.sa_flags | libc::SA_SIGINFO;
        // SAFETY: `ours.sa_mask` is ours to fill.
        unsafe { libc::sigfillset(&mut ours.sa_mask) };
        // SAFETY: `ours` is a valid action.
        unsafe { __sigaction(sig, &ours, std::ptr::null_mut()) }
    }

    /// `signal()` with BSD semantics (glibc's): the handler stays installed, interrupted
    /// system calls restart, and the signal is blocked while its handler runs.
    fn bsd(sig: c_int, handler: libc::sighandler_t, flags: c_int) -> libc::sighandler_t {
        if handler == libc::SIG_ERR {
            // SAFETY: errno is thread-local and ours to set.
            unsafe { *libc::__errno_location() = libc::EINVAL };
            return libc::SIG_ERR;
        }
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
    /// Under loom: no trampoline.
    pub(crate) fn carried_to_handler(_sig: i32) -> bool {
        false
    }
    /// Under loom: nothing to link.
    pub(crate) fn ensure_linked() {}
}

pub(crate) use imp::{arrivals, blocked_on, carried_to_handler, ensure_linked, in_kernel, Entered};

/// Linux lets a program queue a signal with a non-negative code (SignalKill's SI_USER) or
/// SI_TKILL only to its calling thread (`rt_tgsigqueueinfo`: EPERM otherwise). To another
/// thread of the process whose handler is the trampoline, such a signal is queued with this
/// code instead, its own code in the `siginfo_t`'s spare bytes (4 after [`CARRIED_MARK`], at
/// byte [`CARRIED_AT`]: past the value, inside what Linux keeps of a queued signal); the
/// trampoline puts the code back before the program's handler sees the signal.
pub(crate) const CARRIED_CODE: i32 = -0x7153_4b43;
/// The mark that tells a carried signal from one a program queued with [`CARRIED_CODE`].
pub(crate) const CARRIED_MARK: u32 = 0x716e_7843;
/// Where in the `siginfo_t` the mark is (the code follows it).
pub(crate) const CARRIED_AT: usize = 32;
#[cfg(not(loom))]
pub(crate) use imp::{block_all, set_mask};
pub use imp::{block_in_this_thread, disposition, Disposition};

/// Whether the calling thread is inside a kernel call (or a kernel operation holding the
/// lock). For a library that interposes system calls (libqnxsim's `open` and `stat`): what the
/// kernel's code calls (the `/proc` files it reads to judge whether a program lives) goes
/// straight to the system, for a kernel call made from it would wait for the lock its own
/// thread holds.
pub fn in_kernel_call() -> bool {
    imp::in_kernel() || KERNEL_THREAD.with(std::cell::Cell::get)
}

thread_local! {
    /// Set in the kernel's own threads (the timer service), all of whose work is the kernel's.
    static KERNEL_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as one of the kernel's own (see [`in_kernel_call`]): the timer
/// service, which also looks in `/proc` for dead programs outside any call.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) fn mark_kernel_thread() {
    KERNEL_THREAD.with(|k| k.set(true));
}
