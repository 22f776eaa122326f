//! Which kernel thread the calling OS thread is.
//!
//! QNX calls name no thread: the caller is implicit. Each OS thread here is bound to one kernel
//! thread ([`ThreadCtx`]) in a thread-local that holds only that identity (the kernel's state
//! lives in the region, never here). A thread that makes a call unbound is attached on first
//! use: the QNX-named functions attach it to the default process, the typed handles to the
//! process that owns the handle. The binding ends (thread death) when the OS thread exits.

use kernel_sim::{Config, Errno, KResult, Kernel, Pid, ThreadCtx};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

thread_local! {
    static CURRENT: RefCell<Option<ThreadCtx>> = const { RefCell::new(None) };
    /// Bumped whenever `CURRENT` changes: caches of what the binding implies (asyncmsg's last
    /// connection) compare it instead of the binding itself.
    static EPOCH: Cell<u64> = const { Cell::new(0) };
    /// Whether this thread's `CURRENT` has been touched once, with its signals blocked (see
    /// [`touch_current`]). A plain `Cell` has no destructor, so reading it registers nothing.
    static TOUCHED: Cell<bool> = const { Cell::new(false) };
}

/// The first use of `CURRENT` in a thread registers its destructor with the C library (which
/// allocates). A signal handler making a kernel call in the middle of that registration would
/// register it a second time, and the binding would be dropped twice when the thread ends:
/// so the first use happens with the thread's signals blocked.
#[cold]
fn touch_current() {
    let _blocked = SignalsBlocked::new();
    let _ = CURRENT.try_with(|_| ());
    TOUCHED.with(|t| t.set(true));
}

/// Makes sure `CURRENT` was touched with signals blocked before it is used.
#[inline(always)]
fn ensure_touched() {
    if !TOUCHED.with(Cell::get) {
        touch_current();
    }
}

/// The environment variable that makes the default kernel a shared one. Unset or empty: each
/// program has a kernel of its own. Otherwise:
///
/// * a name (no `/`), or the path of a socket (an existing socket, or a path ending in
///   `.sock`): the kernel a supervisor (`procnto-sim`) keeps, whose socket that is
///   (`kernel_sim::supervisor::socket_path`); if none answers, the program starts one
///   ([`SUPERVISOR_ENV`]), which cleans up after every program that ends, even killed;
/// * any other path: a memory file that the first program creates and the others map
///   (`Kernel::create_shared`, `Kernel::open_shared`), with no supervisor.
pub const KERNEL_ENV: &str = "QNXSIM_KERNEL";

/// The supervisor program a userlib program starts when its kernel's supervisor is not
/// running: this variable's value if set, else `procnto-sim` beside the program (or one
/// directory up, as cargo places test binaries), else `procnto-sim` on the `PATH`.
pub const SUPERVISOR_ENV: &str = "QNXSIM_SUPERVISOR";

/// The default kernel and process of the current fork generation (`kernel_sim::fork`): a
/// forked child gets a fresh pair on first use, as a QNX child gets a fresh process. Entries
/// are never freed (one per generation that used one), so references to them stay valid.
struct DefaultPair {
    generation: u64,
    pair: (Kernel, Pid),
    /// The policy and priority the program's first thread joins at, until one takes them
    /// ([`take_first_sched`]): what the program that spawned or `exec`ed this one recorded
    /// (`Kernel::spawn_sched_for_self`), as `policy << 16 | priority`; 0 for none (priority
    /// 10), and once taken.
    first_sched: AtomicU32,
}

static DEFAULT: AtomicPtr<DefaultPair> = AtomicPtr::new(std::ptr::null_mut());

/// The thread making the default kernel ([`default_pair`]): its Linux pid in the top 32 bits,
/// its Linux tid in the low ones; 0 while none is. A value of another pid counts as free: a
/// fork copied it mid-making, from a thread the child does not have.
static MAKING: AtomicU64 = AtomicU64::new(0);

/// This thread's [`MAKING`] value.
fn maker_id() -> u64 {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() } as u32;
    (u64::from(std::process::id()) << 32) | u64::from(tid)
}

/// The default kernel, which threads join when they make a QNX call without being bound, made
/// on first use. Without [`KERNEL_ENV`], a kernel of this program alone ([`Config::default`]),
/// whose default process is a simulated process of it. With [`KERNEL_ENV`] naming a path, the
/// kernel shared through that file (created with [`Config::default`] if there is none yet),
/// whose default process is this program's own, with its Linux pid as pid; it ends when the
/// program exits normally. In a forked child, a fresh one. Errors: those of
/// `Kernel::open_shared` and `Kernel::process_attach_self` (ENOENT, EACCES, EINVAL, ENOTSUP,
/// EEXIST), for a shared kernel.
pub fn default_kernel() -> KResult<&'static Kernel> {
    default_pair().map(|p| &p.0)
}

fn default_pair() -> KResult<&'static (Kernel, Pid)> {
    let generation = kernel_sim::fork::generation();
    let mine = maker_id();
    let mut waits = 0u32;
    loop {
        let cur = DEFAULT.load(Ordering::Acquire);
        // SAFETY: a non-null DEFAULT points at a leaked entry that is never freed.
        if let Some(d) = unsafe { cur.as_ref() } {
            if d.generation == generation {
                return Ok(&d.pair);
            }
        }
        // One thread at a time makes it: threads that make their first QNX call at the same
        // moment would each open (or start) the kernel and join it, and in a shared kernel all
        // but one would fail (EEXIST: the program is in it already), their calls with them
        // (an `open` of a resource manager's path would go to Linux), and the supervisor would
        // watch the program once per thread. The others wait for the maker, then take its.
        let seen = MAKING.load(Ordering::Acquire);
        if seen == mine {
            // A signal handler interrupted this very thread while it makes it.
            return Err(Errno::EDEADLK);
        }
        if seen != 0 && seen >> 32 == mine >> 32 {
            waits += 1;
            if waits < 64 {
                std::thread::yield_now();
            } else {
                // (Opening a kernel may start its supervisor: milliseconds.)
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            continue;
        }
        if MAKING
            .compare_exchange(seen, mine, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        struct Made;
        impl Drop for Made {
            fn drop(&mut self) {
                MAKING.store(0, Ordering::Release);
            }
        }
        let _made = Made;
        // (Made by another thread between the first look and taking the turn?)
        let cur = DEFAULT.load(Ordering::Acquire);
        // SAFETY: as above.
        if let Some(d) = unsafe { cur.as_ref() } {
            if d.generation == generation {
                return Ok(&d.pair);
            }
        }
        let (pair, first) = make_default()?;
        let shared = pair.0.is_shared();
        let first_sched = AtomicU32::new(first.map_or(0, |(policy, prio)| {
            (policy as u32) << 16 | u32::from(prio as u16)
        }));
        let new = Box::into_raw(Box::new(DefaultPair {
            generation,
            pair,
            first_sched,
        }));
        if DEFAULT
            .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread published one first: use that, and drop ours (ending the process
            // it attached, which is this program's in a shared kernel: the winner's is the same
            // pid, so ours must go before it is looked up).
            // SAFETY: `new` came from Box::into_raw above and was never published.
            let lost = unsafe { Box::from_raw(new) };
            if shared {
                let _ = lost.pair.0.process_destroy(lost.pair.1);
            }
        } else if shared {
            leave_at_exit();
        }
    }
}

/// The policy (QNX's number) and priority a program's first thread joins at, if recorded.
type FirstSched = Option<(i32, i16)>;

/// A new default kernel and process (see [`default_kernel`]), and the policy and priority
/// the program's first thread joins at, if the program that started this one recorded them.
fn make_default() -> KResult<((Kernel, Pid), FirstSched)> {
    let Some(path) = std::env::var_os(KERNEL_ENV).filter(|p| !p.is_empty()) else {
        let k = Kernel::new(Config::default())?;
        let p = k.process_create()?;
        #[cfg(not(loom))]
        crate::device::share_with_forked_children();
        return Ok(((k, p), None));
    };
    #[cfg(loom)]
    {
        // (Loom models run in one process, on kernels of their own.)
        let _ = path;
        Err(Errno::ENOTSUP)
    }
    #[cfg(not(loom))]
    {
        let k = match kernel_named(&path) {
            Ok(KernelNamed::Supervised(name)) => attach_supervised(&name)?,
            Ok(KernelNamed::File(file)) => open_or_create(&file).inspect_err(|e| {
                let why = match *e {
                    Errno::EINVAL => "not a kernel file (its header does not match)",
                    Errno::ENOTSUP => "a kernel file of another version of qnxsim",
                    Errno::EACCES => "not readable and writable by this user",
                    Errno::EISDIR => "a directory, not a kernel file",
                    Errno::ENOENT => "its directory does not exist",
                    Errno::ENOTDIR => "a part of its path is not a directory",
                    Errno::ENAMETOOLONG => "the path is too long",
                    e if e == Errno(libc::ELOOP) => "too many symbolic links in the path",
                    Errno::EROFS => "on a read-only file system",
                    _ => return,
                };
                diagnose(&format!("{KERNEL_ENV}={}: {why}", file.display()));
            })?,
            Err(e) => {
                diagnose(&format!(
                    "{KERNEL_ENV}={path:?}: a kernel's name must be UTF-8 (a memory file's \
                     path contains a '/')"
                ));
                return Err(e);
            }
        };
        // (Looked up first: the attach tears down the process of an earlier image of this
        // program, which is where an `exec`ed image finds its record.)
        let first = k.spawn_sched_for_self();
        let p = k.process_attach_self()?;
        Ok(((k, p), first))
    }
}

/// What [`KERNEL_ENV`]'s value names.
#[cfg(not(loom))]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KernelNamed {
    /// A supervised kernel: its name or its socket's path.
    Supervised(String),
    /// A kernel in a plain memory file.
    File(std::path::PathBuf),
}

/// Whether `path` is an existing socket.
#[cfg(not(loom))]
fn is_socket(path: &std::ffi::OsStr) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// What [`KERNEL_ENV`]'s value names: a supervised kernel (a name without `/`, an existing
/// socket, a path ending in `.sock`), else a memory file's path. EINVAL for a value that is not
/// UTF-8 and would name a supervised kernel (no `/`, a `.sock` ending, an existing socket):
/// no socket can be named after it (taking it for a file would make a kernel file of that
/// name).
#[cfg(not(loom))]
pub(crate) fn kernel_named(value: &std::ffi::OsStr) -> KResult<KernelNamed> {
    use std::os::unix::ffi::OsStrExt;
    match value.to_str() {
        Some(s) if kernel_sim::supervisor::is_supervised(s) => {
            Ok(KernelNamed::Supervised(s.to_string()))
        }
        // (Not UTF-8: a name, or what would be a socket's path, cannot be served.)
        None if !value.as_bytes().contains(&b'/')
            || value.as_bytes().ends_with(b".sock")
            || is_socket(value) =>
        {
            Err(Errno::EINVAL)
        }
        _ => Ok(KernelNamed::File(value.into())),
    }
}

#[cfg(not(loom))]
/// Joins the kernel the supervisor of `name` keeps, starting the supervisor if none answers.
/// An admission cut short (the supervisor died in the middle of it: ECONNRESET, EPIPE, or an
/// answer that is not one, EINVAL) is tried again from the start, up to three times, so a
/// program that comes as its supervisor is killed joins the next one; one that still cannot
/// join says why on stderr.
fn attach_supervised(name: &str) -> KResult<Kernel> {
    let cut_short = |e: &Errno| {
        [
            libc::ECONNRESET,
            libc::EPIPE,
            libc::EINVAL,
            libc::ECONNREFUSED,
        ]
        .contains(&e.0)
    };
    let mut tries = 0;
    loop {
        match attach_supervised_once(name) {
            Err(e) if cut_short(&e) && tries < 3 => tries += 1,
            Err(e) if cut_short(&e) => {
                diagnose(&format!(
                    "cannot join kernel {name:?}: its supervisor ended in the middle of each of \
                     {} admissions ({e})",
                    tries + 1
                ));
                return Err(e);
            }
            done => return done,
        }
    }
}

#[cfg(not(loom))]
/// One try of [`attach_supervised`].
fn attach_supervised_once(name: &str) -> KResult<Kernel> {
    use kernel_sim::supervisor;
    let socket = supervisor::socket_path(name).inspect_err(|e| {
        if *e == Errno::ENAMETOOLONG {
            diagnose(&format!(
                "{KERNEL_ENV}={name:?}: the kernel's socket path would be longer than a Unix \
                 socket's 107 bytes"
            ));
        }
    })?;
    match supervisor::attach(&socket) {
        Err(Errno(e)) if e == libc::ENOENT || e == libc::ECONNREFUSED => {}
        done => return done,
    }
    let exe = supervisor_program();
    let started = std::process::Command::new(&exe)
        .args(["--kernel", name, "--daemon"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn();
    let mut child = match started {
        Ok(c) => c,
        Err(e) => {
            diagnose(&format!(
                "cannot start the supervisor of kernel {name:?} ({}: {e}); it is looked for \
                 beside this program, one directory up, then on the PATH, unless \
                 {SUPERVISOR_ENV} names it",
                exe.display()
            ));
            return Err(Errno::ENOENT);
        }
    };
    // `--daemon` returns once the socket is ready. A program in its place that does not return
    // (a wrapper that serves in the foreground, or no supervisor at all) must not hang this
    // one: it is given SUPERVISOR_START, and joined as soon as it serves.
    let deadline = std::time::Instant::now() + SUPERVISOR_START;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(_) => break std::process::ExitStatus::default(),
        }
        if let Ok(k) = supervisor::attach(&socket) {
            // It serves without having returned: it is ours to reap when it ends.
            std::thread::spawn(move || child.wait());
            return Ok(k);
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            diagnose(&format!(
                "the supervisor program {} neither served kernel {name:?} nor returned within \
                 {} s (stopped; `procnto-sim --daemon` returns once its socket {} is ready)",
                exe.display(),
                SUPERVISOR_START.as_secs(),
                socket.display()
            ));
            return Err(Errno::ETIMEDOUT);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    // Exit status 1 may mean another program's supervisor won the race: try to attach anyway.
    supervisor::attach(&socket).inspect_err(|e| {
        diagnose(&format!(
            "the supervisor program {} ended ({status}) without serving kernel {name:?} at {} \
             ({e})",
            exe.display(),
            socket.display()
        ));
    })
}

/// How long a supervisor program started for a kernel has to serve it or return.
#[cfg(not(loom))]
const SUPERVISOR_START: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(not(loom))]
/// Says once on stderr why this program cannot reach its shared kernel: its calls only get an
/// errno (ENOENT, EINVAL, ENAMETOOLONG), which names no cause a porter could act on.
fn diagnose(why: &str) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        eprintln!("qnxsim: {why}");
    }
}

#[cfg(not(loom))]
/// Where the supervisor program is (see [`SUPERVISOR_ENV`]).
fn supervisor_program() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os(SUPERVISOR_ENV).filter(|p| !p.is_empty()) {
        return p.into();
    }
    if let Ok(me) = std::env::current_exe() {
        for dir in me.ancestors().skip(1).take(2) {
            let candidate = dir.join("procnto-sim");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    "procnto-sim".into()
}

#[cfg(not(loom))]
/// Maps the kernel's memory file at `path`, or creates it.
fn open_or_create(path: &std::path::Path) -> KResult<Kernel> {
    match Kernel::open_shared(path) {
        Err(Errno::ENOENT) => match Kernel::create_shared(path, Config::default()) {
            // Made by another program meanwhile: map that one.
            Err(Errno::EEXIST) => Kernel::open_shared(path),
            Ok(k) => {
                // A new kernel's simulated physical memory starts empty: a file left beside
                // an earlier kernel of this path is that kernel's (userlib's `device`).
                let _ = std::fs::remove_file(crate::device::phys_beside(path));
                Ok(k)
            }
            Err(e) => Err(e),
        },
        opened => opened,
    }
}

/// On a normal exit, this program's process leaves the shared kernel: its channels are
/// destroyed (blocked clients get ESRCH), its connections detached, as when a QNX process
/// exits. (A program killed outright leaves it behind until a supervisor cleans up.)
fn leave_at_exit() {
    extern "C" fn leave() {
        let cur = DEFAULT.load(Ordering::Acquire);
        // SAFETY: a non-null DEFAULT points at a leaked entry that is never freed.
        if let Some(d) = unsafe { cur.as_ref() } {
            if d.generation == kernel_sim::fork::generation() && d.pair.0.is_shared() {
                // The program's other threads (the asyncmsg library's, the timers') stop
                // making calls before the exit ends them, so none dies holding the lock, and
                // none is still at a call when the process's queue blocks are freed below.
                d.pair.0.close_for_exit();
                let _ = d.pair.0.process_destroy(d.pair.1);
            }
        }
    }
    // SAFETY: registers a function with no preconditions, which never unwinds (its errors
    // are ignored).
    unsafe {
        libc::atexit(leave);
    }
}

/// The default process's pid (this program's Linux pid on a shared kernel).
pub fn default_pid() -> KResult<i32> {
    default_pair().map(|p| p.1.pid)
}

/// Whether the calling thread reaches a kernel without one being made for it: it is bound,
/// or the program's default kernel exists already (in this fork generation), or
/// [`KERNEL_ENV`] names one to join. A program that made no kernel has no resource managers:
/// libqnxsim's interposed `open` asks this first, so that ordinary file I/O never makes one.
pub fn kernel_reachable() -> bool {
    let bound = CURRENT
        .try_with(|c| c.try_borrow().is_ok_and(|b| b.is_some()))
        .unwrap_or(false);
    if bound {
        return true;
    }
    let cur = DEFAULT.load(Ordering::Acquire);
    // SAFETY: a non-null DEFAULT points at a leaked entry that is never freed.
    if let Some(d) = unsafe { cur.as_ref() } {
        if d.generation == kernel_sim::fork::generation() {
            return true;
        }
    }
    std::env::var_os(KERNEL_ENV).is_some_and(|p| !p.is_empty())
}

/// Binds the calling OS thread to `ctx`, returning the previous binding (if any).
pub fn bind(ctx: ThreadCtx) -> Option<ThreadCtx> {
    ensure_touched();
    bump_epoch();
    CURRENT.with(|c| c.borrow_mut().replace(ctx))
}

/// Ends the calling thread's binding (the kernel thread exits) and returns it.
pub fn unbind() -> Option<ThreadCtx> {
    ensure_touched();
    bump_epoch();
    CURRENT.with(|c| c.borrow_mut().take())
}

fn bump_epoch() {
    EPOCH.with(|e| e.set(e.get().wrapping_add(1)));
}

/// A number that changes whenever the calling thread's binding does (bind, unbind, attach on
/// first use), and in a forked child (the fork generation, in the top bits: the binding the
/// forking thread had names its parent's kernel thread, and caches keyed by the epoch, the put
/// path's last connection among them, must not serve the child): equal numbers mean the same
/// binding.
#[inline]
pub(crate) fn epoch() -> u64 {
    EPOCH.with(Cell::get) ^ (kernel_sim::fork::generation() << 48)
}

/// Runs `f` with the calling thread's kernel thread, attaching it to the default process first
/// if it is unbound.
///
/// A signal handler may make kernel calls, so this may be entered again on the same thread
/// from a handler. The attach runs with the thread's signals blocked, so that no handler
/// attaches a second kernel thread in the middle of it (one of the two would be dropped,
/// with a kernel call, inside the binding's borrow). A call from a handler that still finds
/// the binding in use, or from a thread whose thread-locals are being destroyed (it is
/// exiting), fails with EDEADLK or ESRCH instead of panicking.
pub fn with_current<R>(f: impl FnOnce(&ThreadCtx) -> KResult<R>) -> KResult<R> {
    ensure_touched();
    CURRENT
        .try_with(|c| {
            forget_forked_binding(c);
            if c.try_borrow().map_err(|_| Errno::EDEADLK)?.is_none() {
                attach_current(c)?;
            }
            let b = c.try_borrow().map_err(|_| Errno::EDEADLK)?;
            f(b.as_ref().ok_or(Errno::ESRCH)?)
        })
        .unwrap_or(Err(Errno::ESRCH))
}

/// Runs `f` with the calling thread's kernel thread if it has one already (bound in this fork
/// generation, and not in use by a call this one interrupted); None otherwise, without
/// attaching it. For calls that sleep in the kernel when the thread is the kernel's and in
/// Linux when it is not (libqnxsim's `nanosleep`, `sleep`, `usleep`): a program's thread that
/// never made a kernel call does not join a kernel by sleeping.
pub fn with_bound<R>(f: impl FnOnce(&ThreadCtx) -> KResult<R>) -> Option<KResult<R>> {
    ensure_touched();
    CURRENT
        .try_with(|c| {
            forget_forked_binding(c);
            let b = c.try_borrow().ok()?;
            b.as_ref().map(f)
        })
        .ok()
        .flatten()
}

/// Binds the calling thread (unbound) to a new kernel thread of the default process, with its
/// signals blocked meanwhile (see [`with_current`]).
#[cold]
fn attach_current(c: &RefCell<Option<ThreadCtx>>) -> KResult<()> {
    let _blocked = SignalsBlocked::new();
    // (A handler that ran before the signals were blocked may have bound the thread.)
    if c.try_borrow().map_err(|_| Errno::EDEADLK)?.is_some() {
        return Ok(());
    }
    let (k, p) = default_pair()?;
    let ctx = attach_program_thread(k, *p)?;
    *c.try_borrow_mut().map_err(|_| Errno::EDEADLK)? = Some(ctx);
    bump_epoch();
    Ok(())
}

/// Attaches the calling thread to process `pid` of `kernel` as a thread of the program: at
/// priority 10 (`SCHED_RR`), or, for the program's first thread on its default process, at the
/// policy and priority the program that spawned or `exec`ed it recorded
/// ([`record_spawn_sched`]), as QNX starts a spawned program at its spawning thread's.
fn attach_program_thread(kernel: &Kernel, pid: Pid) -> KResult<ThreadCtx> {
    let Some((d, sched)) = take_first_sched(kernel, pid) else {
        return kernel.thread_attach(pid, kernel_sim::consts::PRIO_DEFAULT);
    };
    let (policy, prio) = ((sched >> 16) as i32, (sched & 0xffff) as i16);
    kernel
        .thread_attach_sched(pid, policy, prio)
        .inspect_err(|_| {
            // (Not attached: the next thread to attach is the first.)
            let _ = d
                .first_sched
                .compare_exchange(0, sched, Ordering::AcqRel, Ordering::Relaxed);
        })
}

/// The default pair's first-thread scheduling ([`DefaultPair::first_sched`]), taken (once) if
/// `pid` of `kernel` is this fork generation's default process and it has some.
fn take_first_sched(kernel: &Kernel, pid: Pid) -> Option<(&'static DefaultPair, u32)> {
    let cur = DEFAULT.load(Ordering::Acquire);
    // SAFETY: a non-null DEFAULT points at a leaked entry that is never freed.
    let d = unsafe { cur.as_ref() }?;
    if d.generation != kernel_sim::fork::generation()
        || !d.pair.0.same(kernel)
        || d.pair.1 != pid
        || d.first_sched.load(Ordering::Relaxed) == 0
    {
        return None;
    }
    match d.first_sched.swap(0, Ordering::AcqRel) {
        0 => None,
        sched => Some((d, sched)),
    }
}

/// Before this program starts another (libqnxsim's `spawn*()` in every mode, `P_OVERLAY`'s
/// `exec` among them): records on its process of a shared kernel the calling thread's policy
/// and base priority, which the new program's first thread joins at, as QNX starts a spawned
/// program at its spawning thread's priority and policy and an exec'd image keeps its
/// thread's (`Kernel::record_spawn_sched`). A thread that is not bound to the program's kernel
/// records none (the new program starts at priority 10, as this thread would join). Nothing
/// when the program has not joined a shared kernel (this makes none); errors are ignored (the
/// program is started all the same).
pub fn record_spawn_sched() {
    let cur = DEFAULT.load(Ordering::Acquire);
    // SAFETY: a non-null DEFAULT points at a leaked entry that is never freed.
    let Some(d) = (unsafe { cur.as_ref() }) else {
        return;
    };
    let (k, p) = (&d.pair.0, d.pair.1);
    if d.generation != kernel_sim::fork::generation() || !k.is_shared() {
        return;
    }
    ensure_touched();
    let recorded = CURRENT
        .try_with(|c| {
            let b = c.try_borrow().ok()?;
            let ctx = b.as_ref().filter(|ctx| ctx.kernel().same(k))?;
            Some(k.record_spawn_sched(p, Some(ctx)))
        })
        .ok()
        .flatten();
    if recorded.is_none() {
        let _ = k.record_spawn_sched(p, None);
    }
}

/// The calling thread's signals, blocked until dropped (then the previous mask is back).
pub(crate) struct SignalsBlocked(Option<libc::sigset_t>);

impl SignalsBlocked {
    pub(crate) fn new() -> SignalsBlocked {
        // SAFETY: `all` and `old` are plain sigset_t values of ours; sigfillset and
        // pthread_sigmask only write them (and the thread's mask).
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            if libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old) == 0 {
                SignalsBlocked(Some(old))
            } else {
                SignalsBlocked(None)
            }
        }
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: restores the mask `new` saved; `old` is a valid sigset_t.
            unsafe {
                libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
            }
        }
    }
}

/// The calling thread's kernel and process (attaching an unbound thread to the default process
/// first): the owner a handle made by this thread records.
pub(crate) fn current_process() -> KResult<(Kernel, Pid)> {
    with_current(|c| Ok((c.kernel().clone(), c.process())))
}

/// In a forked child, the forking thread's binding names a kernel thread of its parent: the
/// thread is now the only thread of a new process, and binds afresh (to the child's default
/// process) on its next call.
fn forget_forked_binding(c: &RefCell<Option<ThreadCtx>>) {
    let stale = c
        .try_borrow()
        .is_ok_and(|b| b.as_ref().is_some_and(|ctx| ctx.kernel().forked_away()));
    if stale {
        let old = c.try_borrow_mut().ok().and_then(|mut b| b.take());
        bump_epoch();
        // (Dropped with the binding released, as dropping it may run signal handlers that make
        // QNX calls. The drop leaves the kernel thread alone: it is the parent's, in the
        // parent's own tables when the kernel is shared by programs.)
        drop(old);
    }
}

/// What a handle of process `pid` on `kernel` may do from the calling thread.
pub(crate) enum Access<'a> {
    /// The calling thread belongs to the handle's process.
    Member(&'a ThreadCtx),
    /// The calling thread belongs to another process (or kernel).
    Foreign,
}

/// Runs `f` for a handle owned by process `pid` of `kernel`: with the calling thread's kernel
/// thread if it belongs to that process (attaching an unbound thread to it), or with
/// [`Access::Foreign`] otherwise.
pub(crate) fn with_member<R>(
    kernel: &Kernel,
    pid: Pid,
    f: impl FnOnce(Access<'_>) -> KResult<R>,
) -> KResult<R> {
    ensure_touched();
    CURRENT
        .try_with(|c| {
            if c.try_borrow().map_err(|_| Errno::EDEADLK)?.is_none() {
                // (Signals blocked meanwhile, as in `attach_current`.)
                let _blocked = SignalsBlocked::new();
                if c.try_borrow().map_err(|_| Errno::EDEADLK)?.is_none() {
                    let ctx = attach_program_thread(kernel, pid)?;
                    *c.try_borrow_mut().map_err(|_| Errno::EDEADLK)? = Some(ctx);
                    bump_epoch();
                }
            }
            let b = c.try_borrow().map_err(|_| Errno::EDEADLK)?;
            match b.as_ref() {
                Some(ctx) if ctx.kernel().same(kernel) && ctx.pid() == pid.pid => {
                    f(Access::Member(ctx))
                }
                _ => f(Access::Foreign),
            }
        })
        .unwrap_or(Err(Errno::ESRCH))
}

/// Runs `f` with the calling thread's kernel thread if it is a thread of process `pid` on
/// `kernel`; otherwise (a thread of another process or kernel, an unbound thread, or one whose
/// thread-locals are being torn down) hands `f` back. Never attaches the calling thread.
pub(crate) fn as_member<R, F: FnOnce(&ThreadCtx) -> R>(
    kernel: &Kernel,
    pid: Pid,
    f: F,
) -> Result<R, F> {
    let mut f = Some(f);
    let ran = CURRENT
        .try_with(|c| {
            let b = c.try_borrow().ok()?;
            let ctx = b
                .as_ref()
                .filter(|ctx| ctx.kernel().same(kernel) && ctx.pid() == pid.pid)?;
            f.take().map(|f| f(ctx))
        })
        .ok()
        .flatten();
    match (ran, f) {
        (Some(r), _) => Ok(r),
        (None, Some(f)) => Err(f),
        // (`f` is taken only to be run.)
        (None, None) => unreachable!("a clean-up taken but not run"),
    }
}

/// Runs `f` with the calling thread's kernel thread if it is a thread of any process of
/// `kernel`; otherwise hands `f` back. Never attaches the calling thread.
pub(crate) fn on_kernel<R, F: FnOnce(&ThreadCtx) -> R>(kernel: &Kernel, f: F) -> Result<R, F> {
    let mut f = Some(f);
    let ran = CURRENT
        .try_with(|c| {
            let b = c.try_borrow().ok()?;
            let ctx = b.as_ref().filter(|ctx| ctx.kernel().same(kernel))?;
            f.take().map(|f| f(ctx))
        })
        .ok()
        .flatten();
    match (ran, f) {
        (Some(r), _) => Ok(r),
        (None, Some(f)) => Err(f),
        // (`f` is taken only to be run.)
        (None, None) => unreachable!("a call taken but not run"),
    }
}

/// Runs clean-up `f` as a thread of process `pid`: the calling thread if it is one, otherwise a
/// short-lived internal kernel thread attached for the purpose (a handle dropped by another
/// process's thread still cleans up in its own process; an internal thread's end sends no
/// thread-death pulse: it is no thread of the program). Errors are ignored: clean-up never
/// panics.
pub(crate) fn cleanup_in(kernel: &Kernel, pid: Pid, f: impl FnOnce(&ThreadCtx) -> KResult<()>) {
    if let Err(f) = as_member(kernel, pid, f) {
        if let Ok(ctx) = kernel.thread_attach_internal(pid, kernel_sim::consts::PRIO_DEFAULT) {
            let _ = f(&ctx);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    /// QNXSIM_KERNEL's value: a name (no `/`) or a `.sock` path is a supervised kernel, any
    /// other path a memory file's (UTF-8 or not); a name that is not UTF-8 is EINVAL, never a
    /// file made in the current directory.
    #[test]
    fn what_the_kernel_variable_names() {
        let named = |b: &[u8]| kernel_named(OsStr::from_bytes(b));
        assert_eq!(named(b"demo"), Ok(KernelNamed::Supervised("demo".into())));
        assert_eq!(
            named(b"/run/k.sock"),
            Ok(KernelNamed::Supervised("/run/k.sock".into()))
        );
        assert_eq!(
            named(b"/tmp/my-kernel"),
            Ok(KernelNamed::File("/tmp/my-kernel".into()))
        );
        assert_eq!(
            named(b"/tmp/k\xff"),
            Ok(KernelNamed::File(OsStr::from_bytes(b"/tmp/k\xff").into()))
        );
        assert_eq!(named(b"k\xff"), Err(Errno::EINVAL));
        assert_eq!(named(b"/tmp/k\xff.sock"), Err(Errno::EINVAL));
    }
}
