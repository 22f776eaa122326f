//! The kernel handle and the thread handle: what a program holds.
//!
//! A [`Kernel`] is one simulated kernel (its region and its timer service); a [`ThreadCtx`] is
//! one OS thread's identity in it, through which the thread makes kernel calls. The rest of the
//! kernel's user-facing side is split by job:
//!
//! * `entry.rs`: the one place a call enters, blocks and leaves (lock, dispatch, apply the
//!   effects after unlocking, sleep on the wait word, collect the result);
//! * `api.rs`: the user-side function of each kernel call, which builds the `Call`
//!   (`syscalls.rs`) and enters;
//! * `os.rs`: the bridge to Linux (signals to threads, OS priorities, the CPU);
//! * `timer_service.rs`: the thread that stands in for the clock interrupt.
//!
//! Everything about kernel timeouts (TimerTimeout, deadlines, expiry) is in
//! `calls/timeout.rs`.

mod api;
mod entry;
mod os;
#[cfg(not(loom))]
pub(crate) use os::image_tag;
#[cfg(not(loom))]
mod supervisor_watch;
mod timer_service;

use crate::abi::errno::{Errno, KResult};
use crate::abi::types::ProcCounters;
use crate::calls::{self, Caller};
use crate::objects::Process;
use crate::pool::Id;
use crate::region::{Config, Region};
use crate::sync::Arc;
use std::marker::PhantomData;
use timer_service::TimerService;

/// A handle to a simulated kernel. Cheap to clone; the kernel lives while a handle does.
#[derive(Clone, Debug)]
pub struct Kernel {
    inner: Arc<Inner>,
}

/// A supervisor's work between tries for a held lock ([`Kernel::while_waiting`]).
#[derive(Clone)]
struct WaitHook(#[cfg_attr(loom, allow(dead_code))] std::sync::Arc<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for WaitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitHook")
    }
}

/// What a kernel is: its region, and the timer service that stands in for the clock interrupt.
#[derive(Debug)]
struct Inner {
    region: Region,
    /// This handle's serial number (unique in the program: [`Kernel::id`]).
    serial: u64,
    /// This handle is a supervisor's: its lock waits look for a holder that died, and take
    /// over from it (`Kernel::supervise`).
    #[cfg_attr(loom, allow(dead_code))]
    supervising: std::sync::atomic::AtomicBool,
    /// A kernel in a plain memory file, with no supervisor, or a supervised kernel whose
    /// supervisor died (`Kernel::watch_supervisor`): its programs watch for a program that
    /// died holding the lock, take over from it (undoing its call) and reap it, as a
    /// supervisor would (`Kernel::lock_supervising`). Set once, never cleared.
    #[cfg_attr(loom, allow(dead_code))]
    reaps_dead: std::sync::atomic::AtomicBool,
    /// The write end of a pipe whose read end the thread watching this program's supervisor
    /// polls (`Kernel::watch_supervisor`): a byte written to it when the kernel is dropped
    /// ends it (`supervisor_watch::end_watch`).
    #[cfg_attr(loom, allow(dead_code))]
    supervisor_watch: std::sync::Mutex<Option<std::os::fd::OwnedFd>>,
    /// The supervisor this program watches died (`Kernel::watch_supervisor`).
    supervisor_gone: std::sync::atomic::AtomicBool,
    /// Dead holders whose lock this handle's lock waits took over (`lock_supervising`), with
    /// what it found, for a supervisor to report when it reaps them (`take_recovery`).
    #[cfg_attr(loom, allow(dead_code))]
    recovered: std::sync::Mutex<Vec<(i32, Recovery)>>,
    /// Programs a supervisor knows have ended (their pidfd said so) while it reaps them, with
    /// the images it knows ended: dead whatever `/proc` says, since Linux may already have
    /// given the pid to another process, and a lock such a pid holds must still be taken over;
    /// but a hold by that other program, begun by an image not among them, is its own
    /// (`Kernel::program_ended`, `Kernel::alive`).
    #[cfg_attr(loom, allow(dead_code))]
    ended: std::sync::Mutex<Vec<(i32, Images)>>,
    /// What a supervisor does between its tries for a held lock (`Kernel::while_waiting`):
    /// admit programs, so that one that would release the lock can join.
    #[cfg_attr(loom, allow(dead_code))]
    while_waiting: std::sync::Mutex<Option<WaitHook>>,
    timers: std::sync::Arc<TimerService>,
    /// The fork generation the kernel was made in (`fork.rs`): in a forked child the parent's
    /// kernels are not the child's, and their calls fail with ESRCH.
    fork_gen: u64,
}

impl crate::fork::ForkLock for Inner {
    // A shared kernel's lock is not held across a fork: other programs take and release it
    // meanwhile, so the child's copy of the word is theirs too (a child's calls on its parent's
    // kernel fail with ESRCH; inspecting takes the lock as any program does), and a parent and
    // child both releasing it would release another program's hold.
    fn lock_for_fork(&self) {
        if !self.region.is_shared() {
            self.region.lock_word().lock(false, 0);
        }
    }
    fn unlock_after_fork(&self) {
        if !self.region.is_shared() {
            self.region.lock_word().unlock(false);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.timers.stop();
        #[cfg(not(loom))]
        supervisor_watch::end_watch(self);
    }
}

/// What [`Kernel::recover_dead_lock_holder`] found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The program did not hold the lock (or the kernel is not shared).
    NotHeld,
    /// It died in the middle of a call: the call was undone (this many before images put
    /// back), and the lock released.
    Undone {
        /// Before images restored.
        entries: u32,
    },
    /// It died after its call was complete, before releasing the lock: the lock was released.
    Committed,
    /// It died in a call that changed more than the undo record holds: the lock stays held
    /// and every other program of the kernel waits for it.
    Unrecoverable,
}

/// Which program images of a Linux pid ended, as a supervisor knows them (each image tagged as
/// [`crate::objects::Process::os_image`] records it): what its reaping of that pid tears down
/// ([`Kernel::reap_os_images`]), and whose hold of the lock it may take over while it reaps
/// (`Kernel::alive`). Linux may have given the pid to a new program meanwhile, whose
/// processes and hold are not the dead program's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Images {
    /// Every image of the pid, whatever `/proc` says of it (a caller that knows no image, or
    /// has judged the hold itself: [`Kernel::reap_os_process`]).
    All,
    /// These images (the tags the dead program's images gave at their admission).
    Only(Vec<u64>),
    /// Every image but these (the tags of live programs admitted under the pid: a dead image
    /// that gave no tag is not known).
    AllBut(Vec<u64>),
}

impl Images {
    /// Whether the processes (or the hold) of image `image` are among them.
    pub fn has(&self, image: u64) -> bool {
        match self {
            Images::All => true,
            Images::Only(v) => v.contains(&image),
            Images::AllBut(v) => !v.contains(&image),
        }
    }
}

/// A simulated process, as the kernel names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pid {
    /// The pid programs see.
    pub pid: i32,
    id: Id<Process>,
}

impl Kernel {
    /// A new kernel in anonymous memory, with the given capacities: a kernel of this Linux
    /// process alone.
    pub fn new(cfg: Config) -> KResult<Kernel> {
        Kernel::with_region(Region::new(cfg)?, false)
    }

    /// A new kernel in a memory file at `path` (mode 0600), which other Linux processes of the
    /// same user map with [`Kernel::open_shared`]: one kernel shared by several programs, each
    /// a simulated process whose pid is its Linux pid ([`Kernel::process_attach_self`]).
    /// The file appears whole (it is formatted under a temporary name, then linked into
    /// place): EEXIST if `path` exists, ENOENT if its directory does not, EACCES if it cannot
    /// be written. Removing the file when the kernel is no longer wanted is the caller's.
    #[cfg(not(loom))]
    pub fn create_shared(path: &std::path::Path, cfg: Config) -> KResult<Kernel> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| Errno(e.raw_os_error().unwrap_or(libc::EIO));
        if path.exists() {
            return Err(Errno::EEXIST);
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        let made = Region::create_shared(&file, cfg).and_then(|region| {
            // Linked, not renamed: a link never replaces a file another program made meanwhile.
            std::fs::hard_link(&tmp, path).map_err(io)?;
            Ok(region)
        });
        let _ = std::fs::remove_file(&tmp);
        Kernel::with_region(made?, true)
    }

    /// Maps the shared kernel at `path` made by [`Kernel::create_shared`] (in this or another
    /// Linux process of the same user). ENOENT no such file; EACCES not ours to open; EINVAL
    /// not a kernel region; ENOTSUP a region of another layout version.
    #[cfg(not(loom))]
    pub fn open_shared(path: &std::path::Path) -> KResult<Kernel> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let k = Kernel::with_region(Region::open_shared(&file)?, true)?;
        k.release_earlier_image_lock();
        Ok(k)
    }

    /// Maps the shared kernel whose region is the memory file `fd` (a supervisor's memfd,
    /// received at admission: `crate::supervisor::attach`). EINVAL not a kernel region;
    /// ENOTSUP a region of another layout version.
    #[cfg(not(loom))]
    pub fn open_fd(fd: std::os::fd::OwnedFd) -> KResult<Kernel> {
        let k = Kernel::with_region(Region::open_shared(&std::fs::File::from(fd))?, false)?;
        k.release_earlier_image_lock();
        Ok(k)
    }

    /// A kernel over `region`; `reaps_dead` for a shared kernel no supervisor watches (a plain
    /// memory file).
    pub(crate) fn with_region(region: Region, reaps_dead: bool) -> KResult<Kernel> {
        crate::signals::ensure_linked();
        // Other programs of a shared kernel copy long messages into and out of ours.
        #[cfg(not(loom))]
        if region.is_shared() {
            crate::copy::let_peers_copy();
            // And where Linux forbids that, or we are told to, long messages between programs
            // cross through the region instead, for every program of the kernel.
            if crate::copy::long_copies_through_region() {
                region.set_long_copies_through_region();
            }
        }
        let k = Kernel {
            inner: Arc::new(Inner {
                region,
                serial: {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                },
                supervising: std::sync::atomic::AtomicBool::new(false),
                reaps_dead: std::sync::atomic::AtomicBool::new(reaps_dead),
                supervisor_watch: std::sync::Mutex::new(None),
                supervisor_gone: std::sync::atomic::AtomicBool::new(false),
                recovered: std::sync::Mutex::new(Vec::new()),
                ended: std::sync::Mutex::new(Vec::new()),
                while_waiting: std::sync::Mutex::new(None),
                timers: std::sync::Arc::new(TimerService::default()),
                fork_gen: crate::fork::generation(),
            }),
        };
        #[cfg(not(loom))]
        crate::fork::register(
            Arc::downgrade(&k.inner) as std::sync::Weak<dyn crate::fork::ForkLock>
        );
        Ok(k)
    }

    /// A number naming this kernel handle (and its clones) in the program, never reused: a
    /// cache of what a kernel holds keys itself with it.
    pub fn id(&self) -> u64 {
        self.inner.serial
    }

    /// Whether two handles name the same kernel.
    pub fn same(&self, other: &Kernel) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The fixed part of the kernel region's header: its magic number, layout version, size
    /// in bytes (the whole kernel state) and capacities.
    pub fn region_info(&self) -> crate::region::RegionInfo {
        self.inner.region.header()
    }

    /// A count that changes whenever a name or a resource manager's mountpoint is attached or
    /// goes (read without the kernel lock): a client caching what the path manager holds
    /// ([`crate::Kernel::listing`]'s paths) knows from it whether its cache is current.
    pub fn names_generation(&self) -> u64 {
        self.inner.region.names_generation()
    }

    /// The kernel's trace ring (`Config::trace_records` records in the region): what a
    /// recorder of a kernel shared by several programs drains (`kernel_sim::trace::Ring`).
    #[inline(always)]
    pub fn trace_ring(&self) -> crate::trace::Ring<'_> {
        self.inner.region.trace_ring()
    }

    /// The capacities this kernel was made with.
    pub fn config(&self) -> Config {
        *self.inner.region.config()
    }

    fn shared(&self) -> bool {
        self.inner.region.is_shared()
    }

    /// Whether this kernel is shared by Linux processes ([`Kernel::create_shared`]).
    pub fn is_shared(&self) -> bool {
        self.shared()
    }

    /// Whether SRR messages, replies, MsgReads and MsgWrites longer than a thread's window
    /// ([`crate::WINDOW`]) cross between the programs of this shared kernel through its region
    /// (each side copying its half, two copies) rather than straight between their buffers
    /// with `process_vm_readv`/`writev` (one copy). A kernel switches for good when a program
    /// joins that Linux would refuse those calls (Yama's `ptrace_scope` 2 or 3, a seccomp
    /// filter), or one set `QNXSIM_LONG_COPIES=region`, or
    /// [`Kernel::copy_long_messages_through_region`] was called. Always false for a kernel of
    /// one program.
    pub fn long_copies_through_region(&self) -> bool {
        self.shared() && self.inner.region.long_copies_through_region()
    }

    /// Makes long messages between the programs of this shared kernel cross through its region
    /// from now on (see [`Kernel::long_copies_through_region`]); a message already sent keeps
    /// its path. ENOTSUP for a kernel of one program.
    pub fn copy_long_messages_through_region(&self) -> KResult<()> {
        if !self.shared() {
            return Err(Errno::ENOTSUP);
        }
        self.inner.region.set_long_copies_through_region();
        Ok(())
    }

    /// The address, in this program's mapping, of the asyncmsg queue block at `offset` of the
    /// region's queue arena.
    pub(crate) fn queue_block(&self, offset: u64) -> *mut u8 {
        self.inner.region.queue_block(offset)
    }

    /// The Linux pid a new process of this kernel has its memory in: the caller's in a shared
    /// kernel, 0 ("this one") otherwise.
    fn os_pid(&self) -> i32 {
        if self.shared() {
            std::process::id() as i32
        } else {
            0
        }
    }

    /// Whether the calling thread may enter this kernel now: EDEADLK from a signal handler
    /// that interrupted a kernel call of this thread (installed behind the C library's back:
    /// signals.rs), ESRCH for a kernel inherited through fork().
    fn may_enter(&self) -> KResult<()> {
        if crate::signals::in_kernel() {
            return Err(Errno::EDEADLK);
        }
        if self.forked_away() {
            return Err(Errno::ESRCH);
        }
        Ok(())
    }

    /// Whether this kernel was inherited through fork() from the parent process: its
    /// processes and threads are the parent's, not ours (fork.rs).
    pub fn forked_away(&self) -> bool {
        self.inner.fork_gen != crate::fork::generation()
    }

    /// Creates a simulated process. In a shared kernel it lives in the calling Linux process
    /// (its buffers are this program's) and its pid lies above every Linux pid; see
    /// [`Kernel::process_attach_self`] for the process whose pid is the program's own.
    pub fn process_create(&self) -> KResult<Pid> {
        self.may_enter()?;
        let os_pid = self.os_pid();
        self.locked(|t| calls::process::process_create(t, os_pid))
            .map(|(id, pid)| Pid { pid, id })
    }

    /// The calling Linux process joins a shared kernel as a simulated process whose pid is its
    /// Linux pid (`getpid()`), as on QNX: the pid its clients pass to ConnectAttach. EINVAL on
    /// a kernel of one Linux process (its pids are its own); EEXIST if this Linux process
    /// already has its process in the kernel.
    pub fn process_attach_self(&self) -> KResult<Pid> {
        self.may_enter()?;
        if !self.shared() {
            return Err(Errno::EINVAL);
        }
        let pid = std::process::id() as i32;
        // Its program's name, as pidin shows it (and the trace names its process).
        let name = program_name();
        let attach = || self.locked(|t| calls::process::process_create_as(t, pid, pid, &name));
        let id = match attach() {
            // (The process of an earlier image of this program, which `exec` replaced, or of a
            // dead program whose pid this one reuses: gone, then ours.)
            #[cfg(not(loom))]
            Err(Errno::EEXIST) if self.forget_earlier_images() > 0 => attach(),
            r => r,
        }?;
        Ok(Pid { pid, id })
    }

    /// Tears down what an earlier program image with this program's Linux pid left in this
    /// shared kernel, as if that program had ended: the processes of an image that `exec`
    /// replaced (its channels destroyed, clients REPLY-blocked on them released with ESRCH,
    /// its connections detached with their pulses), or of a dead program whose pid this one
    /// reuses before the supervisor reaped it. Processes record their image
    /// ([`crate::objects::Process::os_image`]). Run when attaching the program's own process
    /// finds its pid taken (only then: the count of lock holds a fault injection goes by stays
    /// as it was). Returns how many it tore down.
    #[cfg(not(loom))]
    pub(crate) fn forget_earlier_images(&self) -> usize {
        if !self.shared() {
            return 0;
        }
        let (me, image) = (crate::copy::my_pid(), image_tag());
        let earlier = |p: &Process| p.os_pid == me && p.os_image != image;
        let any = self.locked(|t| t.procs.live_ids().any(|id| earlier(t.procs.at(id.index))));
        if !any {
            return 0;
        }
        self.reap_program(me, earlier)
    }

    /// `exec` ends every other thread of the old image at once, one of them perhaps inside a
    /// kernel call, holding the lock under this pid, which is alive again: no waiter would take
    /// it over, and every program of the kernel would wait for ever. Run as a program maps the
    /// kernel: a hold by its pid whose holder began its call in another image
    /// (`Region::lock_image`) and that does not change for `STALE_HOLD` (a live holder stores
    /// its image a few instructions after taking the lock, and holds it for microseconds) is
    /// undone and released as a dead program's is ([`Kernel::recover_dead_lock_holder`]). A
    /// hold by this image (another thread, another copy of the library in the program) is left
    /// alone. Reads the lock's word only when there is nothing to do.
    #[cfg(not(loom))]
    fn release_earlier_image_lock(&self) {
        let me = crate::copy::my_pid();
        if !self.shared() || self.lock_owner() != Some(me) {
            return;
        }
        let theirs = self.lock_image();
        // (Any call this image begins stores its image: a live holder's shows at once.)
        if theirs == image_tag() || !self.hold_stays(me, theirs) {
            return;
        }
        // (Judged here: the hold is another image's, unchanged for `STALE_HOLD`.)
        self.program_ended(me, Images::All, || self.recover_dead_lock_holder(me));
    }

    /// Has this handle's waits for a held lock (a supervisor's, or a kernel file's program
    /// watching for dead holders) run `hook` between their tries, every few milliseconds,
    /// without the lock: a supervisor admits programs there, so that a program whose earlier
    /// image (replaced by `exec`) died holding the lock can join and release it
    /// (`release_earlier_image_lock`) while the supervisor waits to reap another.
    #[cfg(not(loom))]
    pub fn while_waiting(&self, hook: impl Fn() + Send + Sync + 'static) {
        *self
            .inner
            .while_waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(WaitHook(std::sync::Arc::new(hook)));
    }

    /// Makes this handle a supervisor's (`crate::supervisor`): when it waits for the kernel
    /// lock and finds the holder's program dead, it takes over from it
    /// ([`Kernel::recover_dead_lock_holder`]) instead of waiting for ever.
    #[cfg(not(loom))]
    pub fn supervise(&self) {
        self.inner
            .supervising
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    #[cfg(not(loom))]
    pub(super) fn supervising(&self) -> bool {
        self.inner
            .supervising
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this program reaps the kernel's dead programs itself: a kernel in a plain
    /// memory file, or a supervised kernel whose supervisor died.
    #[cfg_attr(loom, allow(dead_code))]
    pub(super) fn reaps_dead(&self) -> bool {
        self.inner
            .reaps_dead
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this program's supervisor died and the program reaps the kernel's dead
    /// programs itself now ([`Kernel::watch_supervisor`]).
    pub fn supervisor_died(&self) -> bool {
        self.inner
            .supervisor_gone
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The Linux program whose thread holds the kernel lock right now (`None`: free, or held
    /// in a kernel of one program). A supervisor asks it of a program that died.
    pub fn lock_owner(&self) -> Option<i32> {
        if !self.shared() {
            return None;
        }
        self.inner.region.lock_word().holder().map(|tag| tag as i32)
    }

    /// Tears down every simulated process whose memory is Linux process `os_pid`'s: what a
    /// supervisor does when that program dies, as QNX does when a process ends (its channels
    /// destroyed, blocked peers released with ESRCH, its connections detached with their
    /// pulses, its threads and timers freed). Returns how many processes it tore down. The
    /// dead program's asyncmsg queues are let go of unread, and its send buffers freed.
    pub fn reap_os_process(&self, os_pid: i32) -> usize {
        self.reap_program(os_pid, |_| true)
    }

    /// [`Kernel::reap_os_process`] of the processes of Linux process `os_pid` made by the
    /// program images `images` picks: what a supervisor tears down when a program it admitted
    /// ends. Linux may already have given the pid to a new program, which may have joined the
    /// kernel (its attach tore down the dead program's processes: `forget_earlier_images`):
    /// the new program's processes were made by another image, and stay. Run it inside
    /// `Kernel::program_ended` with the same images, so that a lock the dead program holds
    /// is taken over and one the new program holds is not.
    pub fn reap_os_images(&self, os_pid: i32, images: &Images) -> usize {
        self.reap_program(os_pid, |p| images.has(p.os_image))
    }

    /// Tests: makes process `pid` one of program image `image`'s (as if that image had made
    /// it), so that a test in one Linux process stands in for several images of it.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn set_image_for_test(&self, pid: Pid, image: u64) {
        self.locked(|t| t.procs.at_mut(pid.id.index).os_image = image);
    }

    /// [`Kernel::reap_os_process`] of the processes of `os_pid` that `which` picks. The
    /// program's asyncmsg send buffers (recorded by pid, not by image) are freed only if no
    /// process of the pid that `which` leaves is still there: those are a live image's, and so
    /// may the buffers be.
    fn reap_program(&self, os_pid: i32, which: impl Fn(&Process) -> bool) -> usize {
        if os_pid == 0 {
            return 0;
        }
        if self.recover_dead_lock_holder(os_pid) == Recovery::Unrecoverable {
            return 0; // (Still held by the dead: nothing can be done in the tables.)
        }
        let procs: Vec<Id<Process>> = self.locked(|t| {
            t.procs
                .live_ids()
                .filter(|&id| {
                    let p = t.procs.at(id.index);
                    p.os_pid == os_pid && which(p)
                })
                .collect()
        });
        let n = procs
            .into_iter()
            .filter(|&id| {
                self.locked_fx(|t, fx| calls::process::process_destroy(t, id, fx))
                    .is_ok()
            })
            .count();
        // And the program's asyncmsg send buffers (its own, not one process's), unless another
        // image of the pid still has a process (a new program that Linux gave the pid to).
        self.locked(|t| {
            let others = t.procs.live_ids().any(|id| {
                let p = t.procs.at(id.index);
                p.os_pid == os_pid && !which(p)
            });
            if !others {
                calls::asyncmsg::free_program_blocks(t, os_pid);
            }
        });
        // The dead program may have readied threads and died before waking them (its thread
        // wakes after releasing the lock).
        self.wake_stranded();
        // It may also have taken the one wake-up an unlock makes on the lock itself and died
        // without passing it on (killed between releasing the lock and waking a sleeper, or
        // woken and killed before taking the lock in the contended state): another program's
        // thread would sleep on a free lock until someone contended again. A woken thread that
        // finds the lock held marks it contended and sleeps again.
        #[cfg(not(loom))]
        self.inner.region.lock_word().wake_sleepers(self.shared());
        n
    }

    /// If a thread of Linux program `os_pid` (dead) holds this shared kernel's lock, takes the
    /// lock over: undoes the call it was making (its undo record, undo.rs), so that the tables
    /// are as before that call, then releases the lock. What a supervisor does before reaping a
    /// program that died inside a kernel call.
    pub fn recover_dead_lock_holder(&self, os_pid: i32) -> Recovery {
        let region = &self.inner.region;
        let Some(undo) = region.undo() else {
            return Recovery::NotHeld;
        };
        if os_pid == 0 || self.lock_owner() != Some(os_pid) {
            return Recovery::NotHeld;
        }
        // (Were the pid already another program's, that program would be alive: hands off,
        // unless a supervisor knows the program it admitted under that pid has ended.)
        #[cfg(not(loom))]
        if self.alive(os_pid) {
            return Recovery::NotHeld;
        }
        let (active, whole) = undo.pending();
        if active && !whole {
            return Recovery::Unrecoverable;
        }
        // One compare-and-swap decides who takes over, should several programs find the holder
        // dead at once (a kernel without a supervisor: each of its programs watches).
        if !region
            .lock_word()
            .take_over(os_pid as u32, crate::copy::my_pid() as u32)
        {
            return Recovery::NotHeld;
        }
        let undone = if active {
            // SAFETY: the lock is held by a thread that no longer exists, so no one else can
            // hold it or view the tables: we act as its holder from here to `unlock`.
            unsafe { undo.roll_back() }
        } else {
            0
        };
        region.lock_word().unlock(true);
        if active {
            Recovery::Undone { entries: undone }
        } else {
            Recovery::Committed
        }
    }

    /// Runs `f` (a supervisor's reaping of Linux program `os_pid`) with `os_pid` taken for
    /// dead by this handle's lock waits and recoveries whatever `/proc` says: the supervisor's
    /// pidfd said the program it admitted ended, and its pid may already name another process,
    /// whose life must not keep the dead program's hold on the lock. `images` are the dead
    /// program's: should `/proc` show the pid running again, a hold begun by another image is
    /// the new program's, and is left alone (`Kernel::alive`).
    #[cfg(not(loom))]
    pub(crate) fn program_ended<R>(&self, os_pid: i32, images: Images, f: impl FnOnce() -> R) -> R {
        let ended = || self.inner.ended.lock().unwrap_or_else(|p| p.into_inner());
        ended().push((os_pid, images));
        struct Forget<'a>(&'a Kernel, i32);
        impl Drop for Forget<'_> {
            fn drop(&mut self) {
                let mut e = self.0.inner.ended.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(i) = e.iter().rposition(|&(p, _)| p == self.1) {
                    e.remove(i);
                }
            }
        }
        let _forget = Forget(self, os_pid);
        f()
    }

    /// Whether the program that holds the kernel lock under Linux pid `os_pid` runs, as this
    /// handle judges it (its lock waits and [`Kernel::recover_dead_lock_holder`] ask it of the
    /// lock's holder): as `/proc` says, unless a supervisor reaping `os_pid` knows the program
    /// it admitted under that pid ended (`program_ended`). Then it is dead, unless `/proc`
    /// shows the pid running again (Linux gave it to a new program, which may have joined the
    /// kernel and be the holder): then the holder is dead only if the hold was begun by one of
    /// the dead program's images (`Region::lock_image`) and stays so for `STALE_HOLD` (a live
    /// holder stores its image a few instructions after taking the lock, and holds it for
    /// microseconds; the image there until it does is the previous holder's).
    #[cfg(not(loom))]
    pub(crate) fn alive(&self, os_pid: i32) -> bool {
        let known = self
            .inner
            .ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .rev()
            .find(|(p, _)| *p == os_pid)
            .map(|(_, images)| images.clone());
        let images = match known {
            None => return entry::program_alive(os_pid),
            Some(Images::All) => return false,
            Some(images) => images,
        };
        if !entry::program_alive(os_pid) {
            return false;
        }
        // The pid runs again: whose is the hold?
        let theirs = self.lock_image();
        let held = self.inner.region.lock_word().holder() == Some(os_pid as u32);
        !(held && images.has(theirs) && self.hold_stays(os_pid, theirs))
    }

    /// The program image the kernel lock's holder stored as it began its call.
    #[cfg(not(loom))]
    fn lock_image(&self) -> u64 {
        self.inner
            .region
            .lock_image()
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the lock stays held by Linux program `os_pid` with the hold begun by image
    /// `image`, unchanged for `STALE_HOLD`: a hold of a dead image (a live holder stores its
    /// image a few instructions after taking the lock, and holds it for microseconds).
    #[cfg(not(loom))]
    fn hold_stays(&self, os_pid: i32, image: u64) -> bool {
        const STALE_HOLD: std::time::Duration = std::time::Duration::from_millis(200);
        let lock = self.inner.region.lock_word();
        let until = std::time::Instant::now() + STALE_HOLD;
        while std::time::Instant::now() < until {
            if lock.holder() != Some(os_pid as u32) || self.lock_image() != image {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        true
    }

    /// What this handle's lock waits found when they took the lock over from program
    /// `os_pid`, dead (`None`: they did not). A supervisor reaping `os_pid` reports it, since
    /// the lock is free by then.
    pub fn take_recovery(&self, os_pid: i32) -> Option<Recovery> {
        let mut r = self
            .inner
            .recovered
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let at = r.iter().position(|&(p, _)| p == os_pid)?;
        Some(r.swap_remove(at).1)
    }

    /// Closes this program's shared kernels for its exit: from now on only the calling thread
    /// makes kernel calls on them (any other thread that tries stops for good: the program is
    /// ending), and once this returns no other thread holds this kernel's lock. Without it, the
    /// exit could end another thread (the asyncmsg library's, the timers') in the middle of a
    /// call, holding a lock other programs wait for. userlib calls it at exit, after destroying
    /// the program's process. Nothing for a kernel of one program.
    pub fn close_for_exit(&self) {
        #[cfg(not(loom))]
        if self.shared() {
            entry::exit_close();
            // A barrier: whoever holds the lock now finishes its call; whoever takes it after
            // sees the kernels closed, lets go and stops. Under it, the program's asyncmsg
            // send buffers go back to the arena (its processes are gone: nothing reads them).
            let me = self.os_pid();
            self.locked(|t| calls::asyncmsg::free_program_blocks(t, me));
        }
    }

    /// Tears a simulated process down: its channels are destroyed (blocked peers leave with
    /// ESRCH), its connections detached, its remaining threads released with ESRCH.
    pub fn process_destroy(&self, pid: Pid) -> KResult<()> {
        self.may_enter()?;
        self.locked_fx(|t, fx| calls::process::process_destroy(t, pid.id, fx))
    }

    /// Registers the calling OS thread as a kernel thread of `pid` at priority `prio` (1..=255).
    pub fn thread_attach(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), 0, false, false)
    }

    /// Makes a kernel thread of `pid` at priority `prio` (1..=255) for another OS thread, which
    /// the caller is about to start and hand it to: the new thread calls
    /// [`ThreadCtx::adopt_os_thread`] first. Until it does, the opt-in OS priority mode adjusts
    /// no Linux thread for it (a SchedSet of it in that window is not its maker's), and it
    /// takes the priority it then has as it adopts it.
    pub fn thread_attach_for_another(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), 0, false, true)
    }

    /// Registers the calling OS thread as a kernel thread of `pid` that works for a library,
    /// not for the program (the asyncmsg library's thread, the short-lived thread that cleans
    /// up a handle dropped by another process's thread): its end sends no
    /// `_PULSE_CODE_THREADDEATH`, and process-directed signals and events never pick it.
    pub fn thread_attach_internal(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), 0, true, false)
    }

    /// [`Kernel::thread_attach_internal`] for another OS thread, as
    /// [`Kernel::thread_attach_for_another`] makes a program's thread for another.
    pub fn thread_attach_internal_for_another(&self, pid: Pid, prio: i16) -> KResult<ThreadCtx> {
        self.attach(pid, prio.into(), 0, true, true)
    }

    /// [`Kernel::thread_attach`] with scheduling policy `policy` (`consts::SCHED_FIFO`,
    /// `SCHED_RR`, `SCHED_OTHER`; else EINVAL) instead of `SCHED_RR`: how a program's first
    /// thread joins at what its spawner recorded ([`Kernel::spawn_sched_for_self`]).
    pub fn thread_attach_sched(&self, pid: Pid, policy: i32, prio: i16) -> KResult<ThreadCtx> {
        use crate::abi::consts::{SCHED_FIFO, SCHED_OTHER, SCHED_RR};
        if ![SCHED_FIFO, SCHED_RR, SCHED_OTHER].contains(&policy) {
            return Err(Errno::EINVAL);
        }
        self.attach(pid, prio.into(), policy as u8, false, false)
    }

    /// Records on process `program` (a shared kernel's program's own process, whose pid is its
    /// Linux pid) what the first thread of the next program it starts joins at: `from`'s policy
    /// and base priority (a thread of this kernel: the one about to `spawn` or `exec`), or none
    /// (priority 10, `SCHED_RR`) with `None` or a thread of another kernel. The spawning library
    /// calls it just before it starts the program, which looks for it as it joins
    /// ([`Kernel::spawn_sched_for_self`]): as QNX starts a spawned program at its spawning
    /// thread's priority and policy, and an exec'd image keeps its thread's. One record per
    /// process: the last to spawn sets it. ESRCH: no such process.
    pub fn record_spawn_sched(&self, program: Pid, from: Option<&ThreadCtx>) -> KResult<()> {
        self.may_enter()?;
        let from = from.filter(|c| c.k.same(self)).map(|c| c.me.thread);
        self.locked(|t| calls::process::record_spawn_sched(t, program.id, from))
    }

    /// The policy (QNX's number) and base priority this program's first thread joins a shared
    /// kernel at, when the program was started by another's `spawn` or `exec`
    /// ([`Kernel::record_spawn_sched`]): what an earlier image of its Linux pid recorded (so
    /// call it before [`Kernel::process_attach_self`], which tears that image's process down),
    /// else what its Linux parent's process recorded. `None`: no record, a kernel of one
    /// program, or a forked child (which gets a fresh process at the default priority, as
    /// before).
    #[cfg(not(loom))]
    pub fn spawn_sched_for_self(&self) -> Option<(i32, i16)> {
        if !self.shared() || crate::fork::generation() != 0 || self.may_enter().is_err() {
            return None;
        }
        let (me, image) = (crate::copy::my_pid(), image_tag());
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() };
        self.locked(|t| calls::process::spawn_sched_for(t, me, image, parent))
            .map(|(policy, prio)| (i32::from(policy), i16::from(prio)))
    }

    fn attach(
        &self,
        pid: Pid,
        prio: i32,
        policy: u8,
        internal: bool,
        provisional: bool,
    ) -> KResult<ThreadCtx> {
        self.may_enter()?;
        let os_tid = nix::unistd::gettid().as_raw();
        let (me, tid) = self.locked(|t| {
            let r = calls::process::thread_create(t, pid.id, prio, os_tid);
            if let Ok((id, _)) = r {
                let th = t.threads.at_mut(id.index);
                th.internal = internal;
                th.provisional = provisional;
                if policy != 0 {
                    th.policy = policy;
                }
            }
            r
        })?;
        Ok(ThreadCtx {
            k: self.clone(),
            me: Caller {
                thread: me,
                proc: pid.id,
            },
            pid: pid.pid,
            tid,
            _not_sync: PhantomData,
        })
    }

    /// The counters of process `pid`.
    pub fn process_counters(&self, pid: i32) -> KResult<ProcCounters> {
        self.locked(|t| t.proc_by_pid(pid).map(|p| t.procs.at(p.index).counters))
            .ok_or(Errno::ESRCH)
    }

    /// Kernel calls made so far, all processes together.
    pub fn kernel_entries(&self) -> u64 {
        self.locked(|t| *t.kernel_entries)
    }

    /// Starts a recording of the kernel's trace ring by Linux process `recorder`
    /// ([`crate::trace::Ring::start`]: EBUSY, ENOTSUP) and takes the snapshot it starts from:
    /// under one hold of the kernel lock the snapshot is taken and the reader moved to the
    /// ring's head, so that every state change the kernel makes (all under the lock) is either
    /// in the snapshot or in the ring after it. (The records claimed between the start and the
    /// snapshot are skipped: what they say happened before the snapshot.)
    pub fn trace_start(
        &self,
        recorder: i32,
    ) -> KResult<(crate::trace::Reader<'_>, crate::info::Snapshot)> {
        let mut reader = self.inner.region.trace_ring().start(recorder)?;
        let snapshot = self.locked(|t| {
            reader.skip_to_head();
            crate::info::snapshot(t)
        });
        Ok((reader, snapshot))
    }

    /// Raises interrupt level `level` (0 to 255), as a device would: delivered now to the
    /// level's attachments if it is unmasked (returns how many), else latched until it is
    /// unmasked (returns 0). EINVAL bad level. Any program of the kernel may raise any level:
    /// it stands in for the hardware (a test, `intr-sim`, a simulated device).
    pub fn interrupt_raise(&self, level: i32) -> KResult<u32> {
        self.may_enter()?;
        self.locked_fx(|t, fx| crate::calls::interrupt::raise(t, level, fx))
    }

    /// A consistent picture of every process, thread, channel and connection.
    pub fn snapshot(&self) -> crate::info::Snapshot {
        self.locked(crate::info::snapshot)
    }

    /// One thread's state and priorities.
    pub fn thread_info(&self, pid: i32, tid: i32) -> KResult<crate::info::ThreadInfo> {
        self.locked(|t| crate::info::thread_info(t, pid, tid))
    }

    /// Live objects and capacity of every pool.
    pub fn pool_usage(&self) -> crate::info::PoolUsage {
        self.locked(|t| crate::info::pool_usage(t))
    }

    /// Pages of the region's asyncmsg queue arena in use (`Config::async_queue_pages` in all):
    /// the sender queues of connections between programs of a shared kernel, and the processes'
    /// send buffers.
    pub fn async_queue_pages_in_use(&self) -> u32 {
        self.locked(|t| t.queue_pages.iter().filter(|p| p.owner != 0).count() as u32)
    }
}

/// A kernel thread: an OS thread's identity in the kernel, through which it makes kernel calls.
/// `Send` (it may be made in one OS thread and handed to the one that will use it, which then
/// calls [`ThreadCtx::adopt_os_thread`]) but not `Sync`: one OS thread at a time makes its calls.
/// Dropping it is thread death.
#[derive(Debug)]
pub struct ThreadCtx {
    k: Kernel,
    me: Caller,
    pid: i32,
    tid: i32,
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl Drop for ThreadCtx {
    fn drop(&mut self) {
        if crate::signals::in_kernel() {
            // Dropped by a handler that interrupted this thread inside the kernel (behind the
            // C library's back): the kernel thread stays rather than deadlock.
            return;
        }
        if self.k.forked_away() {
            // A forked child's copy of its parent's binding: the kernel thread is the
            // parent's, and in a kernel shared by programs the child's tables are the
            // parent's own, where ending it would end the parent's thread under it.
            return;
        }
        let me = self.me.thread;
        self.k
            .locked_fx(|t, fx| calls::process::thread_destroy(t, me, fx));
    }
}

impl ThreadCtx {
    /// Records the calling OS thread as the one running this kernel thread (its Linux tid is
    /// what the opt-in OS priority mode adjusts).
    pub fn adopt_os_thread(&self) {
        let me = self.me.thread;
        let tid = nix::unistd::gettid().as_raw();
        let prio = self.k.locked(|t| {
            let th = t.threads.get_mut(me)?;
            th.os_tid = tid;
            th.provisional = false;
            Some(th.prio)
        });
        // In the OS priority mode, the priority it was given before it was adopted (its
        // maker's renice skipped it: `Kernel::thread_attach_for_another`).
        let mode = self.k.inner.region.config().os_priority;
        if let (Some(prio), true) = (prio, mode != crate::region::OsPriority::Off) {
            os::apply_os_priority(mode, tid, prio);
        }
    }

    /// The kernel this thread belongs to.
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    /// The simulated process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The process, as a [`Pid`] handle.
    pub fn process(&self) -> Pid {
        Pid {
            pid: self.pid,
            id: self.me.proc,
        }
    }

    /// The thread id within the process.
    pub fn tid(&self) -> i32 {
        self.tid
    }
}

/// This program's name: the last part of its `argv[0]` (`dev-sample-client`), else its
/// `comm` (which Linux cuts to 15 bytes), else "".
fn program_name() -> String {
    let argv0 = std::fs::read("/proc/self/cmdline")
        .ok()
        .and_then(|c| c.split(|b| *b == 0).next().map(<[u8]>::to_vec))
        .unwrap_or_default();
    let base = argv0.rsplit(|b| *b == b'/').next().unwrap_or(&[]);
    match std::str::from_utf8(base) {
        Ok(s) if !s.is_empty() => s.to_string(),
        _ => std::fs::read_to_string("/proc/self/comm")
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default(),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A program a supervisor knows has ended (its pidfd said so) holds the lock by its pid;
    /// that pid names a running process again (here: this one, as if Linux had reused it).
    /// Judged by `/proc` the holder lives and nothing is recovered; while the supervisor reaps
    /// it (`program_ended`), the hold is taken over and the lock released.
    #[test]
    fn a_lock_held_by_an_ended_program_whose_pid_was_reused_is_taken_over_while_it_is_reaped() {
        let fd = nix::sys::memfd::memfd_create(c"ended", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .unwrap();
        let k = Kernel::open_fd({
            let file = std::fs::File::from(fd);
            Region::create_shared(&file, Config::small()).unwrap();
            std::os::fd::OwnedFd::from(file)
        })
        .unwrap();
        let pid = std::process::id() as i32;
        let lock = k.inner.region.lock_word();
        lock.lock(true, pid as u32);
        assert_eq!(k.lock_owner(), Some(pid));
        assert_eq!(k.recover_dead_lock_holder(pid), Recovery::NotHeld);
        assert_eq!(k.lock_owner(), Some(pid), "a live pid keeps its hold");
        let r = k.program_ended(pid, Images::All, || k.recover_dead_lock_holder(pid));
        assert_eq!(r, Recovery::Committed);
        assert_eq!(k.lock_owner(), None, "taken over and released");
        assert!(k.alive(pid), "alive again once the reaping is over");
    }

    /// A shared kernel in a memory file, and a way to map it again (as another image would).
    fn shared_memfd() -> (Kernel, impl Fn() -> Kernel) {
        let fd = nix::sys::memfd::memfd_create(c"images", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .unwrap();
        let file = std::fs::File::from(fd);
        Region::create_shared(&file, Config::small()).unwrap();
        let again = move || Kernel::open_fd(file.try_clone().unwrap().into()).unwrap();
        (again(), again)
    }

    fn live(k: &Kernel, id: Id<Process>) -> bool {
        k.locked(|t| t.procs.get(id).is_some())
    }

    /// What an image that `exec` replaced left (its processes carry another image tag) goes
    /// when this image attaches its own process: the process that held the pid, one the old
    /// image made with `process_create` and its channel, and with it the client REPLY-blocked
    /// there, which leaves with ESRCH; this image's own processes stay, and mapping the kernel
    /// again changes nothing.
    #[test]
    fn attaching_tears_down_what_an_earlier_image_of_the_program_left() {
        let (k, again) = shared_memfd();
        let mine = k.process_create().unwrap();
        let old_self = k.process_attach_self().unwrap();
        let earlier = k.process_create().unwrap();
        let other_image = image_tag() ^ 0x5a5a;
        k.locked(|t| {
            t.procs.at_mut(earlier.id.index).os_image = other_image;
            t.procs.at_mut(old_self.id.index).os_image = other_image;
        });
        let server = k.thread_attach(earlier, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let client = k.thread_attach(mine, 10).unwrap();
        let coid = client
            .connect_attach(
                0,
                earlier.pid,
                chid,
                crate::abi::consts::_NTO_SIDE_CHANNEL,
                0,
            )
            .unwrap();
        let sending = std::thread::spawn(move || {
            let mut reply = [0u8; 8];
            client.msg_send(coid, b"hello", &mut reply)
        });
        let mut buf = [0u8; 8];
        let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
        assert!(rcvid > 0, "received");

        let k2 = again();
        assert!(
            live(&k, earlier.id),
            "mapping the kernel again reaps nothing"
        );
        let now = k2.process_attach_self().unwrap();
        assert_eq!(now.pid, old_self.pid);
        assert!(!live(&k, earlier.id), "the earlier image's process is gone");
        assert!(!live(&k, old_self.id), "and the one that held the pid");
        assert_eq!(
            sending.join().unwrap(),
            Err(Errno::ESRCH),
            "its client released"
        );
        assert!(live(&k, mine.id), "this image's own process stays");
        assert_eq!(k2.forget_earlier_images(), 0);
    }

    /// A kernel region in a fresh memory file whose lock is held by this pid, as begun by the
    /// image `image`; and the file, to map it.
    fn held_by_me_in(image: u64) -> std::fs::File {
        let fd =
            nix::sys::memfd::memfd_create(c"held", nix::sys::memfd::MFdFlags::MFD_CLOEXEC).unwrap();
        let file = std::fs::File::from(fd);
        let region = Region::create_shared(&file, Config::small()).unwrap();
        region.lock_word().lock(true, std::process::id());
        region
            .lock_image()
            .store(image, std::sync::atomic::Ordering::Relaxed);
        file
    }

    /// `exec` ended a thread of the old image inside a kernel call: the lock is held by this
    /// pid, begun by another image. Mapping the kernel undoes that call and releases the lock
    /// (else every call of every program of the kernel would wait for ever).
    #[test]
    fn mapping_a_kernel_releases_the_lock_an_earlier_image_of_the_program_held() {
        let file = held_by_me_in(image_tag() ^ 0x77);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let k = Kernel::open_fd(file.into()).unwrap();
            let _ = tx.send((k.lock_owner(), k.process_create().map(|p| p.pid)));
        });
        let (owner, made) = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the new image's first call waited for the old image's lock");
        assert_eq!(owner, None, "released");
        assert!(made.is_ok(), "{made:?}");
    }

    /// A hold by this image (another thread, another copy of the library in the program) is
    /// left alone by a mapping, and so is one whose holder stores its image only a while after
    /// the mapping looks (a live holder preempted between taking the lock and beginning).
    #[test]
    fn mapping_a_kernel_leaves_a_live_hold_by_the_program_alone() {
        let me = std::process::id() as i32;
        let file = held_by_me_in(image_tag());
        let k = Kernel::open_fd(file.try_clone().unwrap().into()).unwrap();
        assert_eq!(k.lock_owner(), Some(me), "this image's hold kept");
        k.inner.region.lock_word().unlock(true);

        let file = held_by_me_in(image_tag() ^ 0x77);
        let holder = Kernel::open_fd(file.try_clone().unwrap().into());
        // (That mapping took the hold for an earlier image's: hold it again for the test.)
        let holder = holder.unwrap();
        holder.inner.region.lock_word().lock(true, me as u32);
        holder
            .inner
            .region
            .lock_image()
            .store(image_tag() ^ 0x77, std::sync::atomic::Ordering::Relaxed);
        let late = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            holder
                .inner
                .region
                .lock_image()
                .store(image_tag(), std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(std::time::Duration::from_millis(300));
            let kept = holder.lock_owner() == Some(me);
            holder.inner.region.lock_word().unlock(true);
            kept
        });
        let _again = Kernel::open_fd(file.into()).unwrap();
        assert!(late.join().unwrap(), "the live holder kept its hold");
    }

    /// A program whose pid a process of another image still holds (a forked child's reused
    /// pid, say) finds it gone when it attaches its own process, which then gets the pid.
    #[test]
    fn attaching_the_program_s_process_takes_its_pid_from_an_earlier_image() {
        let (k, _again) = shared_memfd();
        let first = k.process_attach_self().unwrap();
        assert_eq!(
            k.process_attach_self().err(),
            Some(Errno::EEXIST),
            "this image's own"
        );
        k.locked(|t| t.procs.at_mut(first.id.index).os_image = image_tag() ^ 1);
        let second = k.process_attach_self().unwrap();
        assert_eq!(second.pid, std::process::id() as i32);
        assert!(!live(&k, first.id), "the earlier image's process is gone");
        assert!(live(&k, second.id));
    }

    /// An `exec`ed image's first thread joins at what the thread that called `exec` recorded
    /// (`record_spawn_sched`: its policy and base priority): found on the earlier image's
    /// process before the new image's attach tears it down (`spawn_sched_for_self`), and taken
    /// by `thread_attach_sched`. A record of none gives none; a policy QNX has not is EINVAL.
    #[test]
    fn an_exec_d_image_s_first_thread_joins_at_the_exec_ing_thread_s_priority_and_policy() {
        use crate::abi::consts::{SCHED_FIFO, SCHED_RR};
        let (k, _again) = shared_memfd();
        let old = k.process_attach_self().unwrap();
        let execer = k.thread_attach_sched(old, SCHED_FIFO, 33).unwrap();
        assert_eq!(
            k.spawn_sched_for_self(),
            None,
            "this image's process is no earlier one"
        );
        k.record_spawn_sched(old, Some(&execer)).unwrap();
        assert_eq!(k.spawn_sched_for_self(), None, "nor is its record");
        k.locked(|t| t.procs.at_mut(old.id.index).os_image = image_tag() ^ 1);
        let first = k.spawn_sched_for_self();
        assert_eq!(first, Some((SCHED_FIFO, 33)), "the earlier image's record");
        drop(execer);
        let new = k.process_attach_self().unwrap();
        assert!(!live(&k, old.id), "the earlier image's process is gone");
        assert_eq!(k.spawn_sched_for_self(), None, "and its record with it");
        let (policy, prio) = first.unwrap();
        let t = k.thread_attach_sched(new, policy, prio).unwrap();
        assert_eq!(t.sched_get(0, 0).unwrap(), (SCHED_FIFO, 33, 33));
        assert_eq!(k.thread_attach_sched(new, 0, 10).err(), Some(Errno::EINVAL));

        // A record of none, made after one: none.
        k.record_spawn_sched(new, Some(&t)).unwrap();
        k.record_spawn_sched(new, None).unwrap();
        k.locked(|tb| tb.procs.at_mut(new.id.index).os_image = image_tag() ^ 2);
        assert_eq!(k.spawn_sched_for_self(), None);
        k.record_spawn_sched(new, Some(&t)).unwrap();
        let _ = t.sched_set(0, 0, SCHED_RR, 12).unwrap();
        assert_eq!(
            k.spawn_sched_for_self(),
            Some((SCHED_FIFO, 33)),
            "as it was when recorded"
        );
    }

    /// A supervisor's reaping of a program that ended, run after Linux gave its pid to a new
    /// program that joined the kernel (the admission's images: the dead program's alone). The
    /// new program's attach tore down what the dead one left (`forget_earlier_images`); the
    /// late reaping tears down nothing of the new program's: its own process, one it made, its
    /// channel (which still serves) and its send buffer. (Reaping by pid, as the supervisor
    /// did, tore all of them down.)
    #[test]
    fn a_late_reaping_of_an_ended_program_spares_the_program_that_reused_its_pid() {
        let (k, again) = shared_memfd();
        let pid = std::process::id() as i32;
        let dead = image_tag() ^ 0x0d0d;
        // The dead program: its process, one more, and a channel.
        let old_self = k.process_attach_self().unwrap();
        let old_other = k.process_create().unwrap();
        let old_server = k.thread_attach(old_other, 10).unwrap();
        old_server.channel_create(0).unwrap();
        drop(old_server);
        k.locked(|t| {
            t.procs.at_mut(old_self.id.index).os_image = dead;
            t.procs.at_mut(old_other.id.index).os_image = dead;
        });
        // The new program, with the same pid, joins before the supervisor reaps the dead one.
        let k2 = again();
        let now = k2.process_attach_self().unwrap();
        assert_eq!(now.pid, pid);
        assert!(
            !live(&k, old_self.id) && !live(&k, old_other.id),
            "forgotten"
        );
        let made = k2.process_create().unwrap();
        let server = k2.thread_attach(now, 10).unwrap();
        let chid = server.channel_create(0).unwrap();
        let pages = k.async_queue_pages_in_use();
        let (_off, _buf) = server.async_heap_alloc(4096).unwrap();
        assert!(k.async_queue_pages_in_use() > pages, "a send buffer");
        let pages = k.async_queue_pages_in_use();

        let images = Images::Only(vec![dead]);
        let reaped = k.program_ended(pid, images.clone(), || k.reap_os_images(pid, &images));
        assert_eq!(reaped, 0, "nothing of the dead program was left");
        assert!(live(&k, now.id), "the new program's process stays");
        assert!(live(&k, made.id), "and the one it made");
        assert_eq!(k.async_queue_pages_in_use(), pages, "and its send buffer");
        let client = k2.thread_attach(made, 10).unwrap();
        let coid = client
            .connect_attach(0, pid, chid, crate::abi::consts::_NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let sending = std::thread::spawn(move || client.msg_send(coid, b"hi", &mut [0u8; 4]));
        let mut buf = [0u8; 8];
        let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
        server.msg_reply(rcvid, 0, b"ok").unwrap();
        assert_eq!(sending.join().unwrap(), Ok(0), "its channel serves");
    }

    /// The same reaping before the new program attached its own process (it made one with
    /// `process_create` only): the dead program's processes go, the new one's stays, and so
    /// does its send buffer; a reaping that knows no image of the dead program but the live
    /// program's (`AllBut`) does the same.
    #[test]
    fn a_reaping_of_an_ended_program_tears_down_its_images_alone() {
        for known in [true, false] {
            let (k, again) = shared_memfd();
            let pid = std::process::id() as i32;
            let dead = image_tag() ^ 0x0e0e;
            let old_self = k.process_attach_self().unwrap();
            let old_other = k.process_create().unwrap();
            k.locked(|t| {
                t.procs.at_mut(old_self.id.index).os_image = dead;
                t.procs.at_mut(old_other.id.index).os_image = dead;
            });
            let k2 = again();
            let made = k2.process_create().unwrap();
            let pages = k.async_queue_pages_in_use();
            let t = k2.thread_attach(made, 10).unwrap();
            t.async_heap_alloc(4096).unwrap();
            let pages_after = k.async_queue_pages_in_use();
            assert!(pages_after > pages);
            let images = if known {
                Images::Only(vec![dead])
            } else {
                Images::AllBut(vec![image_tag()])
            };
            let reaped = k.program_ended(pid, images.clone(), || k.reap_os_images(pid, &images));
            assert_eq!(reaped, 2, "the dead program's two processes ({images:?})");
            assert!(!live(&k, old_self.id) && !live(&k, old_other.id));
            assert!(
                live(&k, made.id),
                "the new program's process stays ({images:?})"
            );
            assert_eq!(
                k.async_queue_pages_in_use(),
                pages_after,
                "and its send buffer"
            );
            drop(t);
            // Its own end, reaped by pid: everything of the pid goes.
            assert_eq!(k.reap_os_process(pid), 1);
            assert_eq!(
                k.async_queue_pages_in_use(),
                pages,
                "its send buffer freed with it"
            );
        }
    }

    /// A kernel whose lock this (live) pid holds, the hold begun by image `image`.
    fn held_by_me_as(image: u64) -> Kernel {
        let (k, _again) = shared_memfd();
        k.inner.region.lock_word().lock(true, std::process::id());
        k.inner
            .region
            .lock_image()
            .store(image, std::sync::atomic::Ordering::Relaxed);
        k
    }

    /// While a supervisor reaps a program that ended, Linux gave its pid to a new program (here
    /// this one, alive) which holds the lock in a call of its own: the hold is not taken over
    /// (the call would be undone under a live holder), neither by the reaping's recovery nor by
    /// its lock waits' judgement; a hold begun by the dead program's image, and still as it was
    /// a while later, is.
    #[test]
    fn a_reaping_leaves_alone_a_lock_held_by_the_program_that_reused_the_pid() {
        let pid = std::process::id() as i32;
        let dead = image_tag() ^ 0x0f0f;
        let images = Images::Only(vec![dead]);

        let k = held_by_me_as(image_tag());
        let r = k.program_ended(pid, images.clone(), || {
            (k.alive(pid), k.recover_dead_lock_holder(pid))
        });
        assert_eq!(r, (true, Recovery::NotHeld), "the new program's hold");
        assert_eq!(k.lock_owner(), Some(pid), "kept");
        k.inner.region.lock_word().unlock(true);

        let k = held_by_me_as(dead);
        let started = std::time::Instant::now();
        let r = k.program_ended(pid, images.clone(), || k.recover_dead_lock_holder(pid));
        assert_eq!(r, Recovery::Committed, "the dead program's hold");
        assert_eq!(k.lock_owner(), None, "taken over and released");
        assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    }

    /// The new program took the lock, and has not yet stored its image: the header still
    /// names the previous holder's, the dead program's. It stores its own a moment later; the
    /// reaping's recovery, looking meanwhile, leaves the hold alone.
    #[test]
    fn a_reaping_leaves_alone_a_hold_whose_image_is_stored_late() {
        let pid = std::process::id() as i32;
        let dead = image_tag() ^ 0x1f1f;
        let k = held_by_me_as(dead);
        let late = {
            let k = k.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(40));
                k.inner
                    .region
                    .lock_image()
                    .store(image_tag(), std::sync::atomic::Ordering::Relaxed);
            })
        };
        let images = Images::Only(vec![dead]);
        let r = k.program_ended(pid, images, || k.recover_dead_lock_holder(pid));
        late.join().unwrap();
        assert_eq!(r, Recovery::NotHeld);
        assert_eq!(k.lock_owner(), Some(pid), "the live holder keeps its hold");
        k.inner.region.lock_word().unlock(true);
    }
}
