//! The kernel region: one block of memory holding every kernel object.
//!
//! Layout (offsets are recorded in the header, so a second mapping can find everything):
//!
//! ```text
//! [Header: magic, layout version, size, Config, offsets, pool heads, next pid]
//! [KernelLock]                      one futex word
//! [WaitWord; max_threads]           one futex word per thread slot
//! [Process; max_processes]          pools: slots with generation-tagged ids
//! [Thread; max_threads]
//! [Channel; max_channels]
//! [Connection; max_connections]
//! [PulseObj; max_pulses]
//! [Timer; max_timers]
//! [Name; max_names]
//! [Id<Channel>; max_processes * chids_per_process]      per-process chid tables
//! [CoidSlot; max_processes * fd_coids_per_process]      per-process fd-space coids
//! [CoidSlot; max_processes * side_coids_per_process]    per-process side-channel coids and scoids
//! [u8; max_threads * WINDOW]        per-thread message windows (short messages between programs)
//! [UndoHeader] [u8; UNDO_BYTES]     the undo record of the call in progress (shared kernels)
//! [u8; max_threads * ...]           each thread slot's own undo record
//! [QueuePage; async_queue_pages]    the asyncmsg queue pages' owners (shared kernels)
//! [u8; async_queue_pages * 4096]    asyncmsg sender queues and send buffers (page aligned)
//! [RingHeader] [Record; trace_records]  the trace ring (trace/ring.rs)
//! ```
//!
//! The futex words are kept apart from the tables because they are touched without the lock
//! (a waiter sleeps on its word while another thread holds `&mut` to the tables). Nothing in the
//! region is a heap pointer, so the same bytes can later be a `memfd` mapped by many processes.
//! Today the backing is anonymous memory (heap memory under loom, whose atomics must be loom's).

use crate::abi::errno::{Errno, KResult};
use crate::objects::{
    Channel, CoidSlot, Connection, Interrupt, IntrLevel, Name, Process, PulseObj, Thread, Timer,
    INTR_LEVELS,
};
use crate::pool::{Id, Pool, PoolHead, Pooled};
use crate::sync::TablesCell;
use crate::wait::{KernelLock, WaitWord};
use std::mem::{align_of, size_of};
use std::ptr::NonNull;

/// "QNXSIMK" and a zero byte.
pub const MAGIC: u64 = u64::from_le_bytes(*b"QNXSIMK\0");
/// Bumped whenever the layout of anything in the region changes.
pub const LAYOUT_VERSION: u32 = 31;

/// Bytes in each thread's message window: messages and replies up to this long pass between
/// two programs of a shared kernel through the region (copied in by the sender, out by the
/// receiver, as QNX copies short messages through the kernel's thread object), longer ones
/// straight between the programs' buffers (copy.rs).
pub const WINDOW: usize = 256;

/// How the kernel maps priorities onto the Linux threads that run the simulated ones.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsPriority {
    /// Priorities are emulated only: recorded, inherited and boosted in the kernel tables,
    /// visible in thread info, not applied to Linux scheduling. The default.
    Off,
    /// Each change of a thread's current priority is applied with `setpriority` as a nice
    /// value (priority 10 = nice 0; higher QNX priority = lower nice). Negative nice needs
    /// CAP_SYS_NICE; failures are counted, not fatal.
    Nice,
    /// Each change is applied as `SCHED_FIFO` at priority `min(prio, 99)`. Needs CAP_SYS_NICE and
    /// can starve the machine if a thread spins.
    Fifo,
}

/// Capacities of the region's pools and tables.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Simulated processes.
    pub max_processes: u32,
    /// Threads registered with the kernel, all processes together (at most 32767: rcvids carry the slot).
    pub max_threads: u32,
    /// Channels, all processes together.
    pub max_channels: u32,
    /// Connection objects, all processes together.
    pub max_connections: u32,
    /// Queued pulses, all channels together.
    pub max_pulses: u32,
    /// Timers, all processes together.
    pub max_timers: u32,
    /// Names (`name_attach`), all processes together.
    pub max_names: u32,
    /// Interrupt attachments (InterruptAttach, InterruptAttachEvent), all processes together.
    pub max_interrupts: u32,
    /// Chids per process (chids run 1..=this).
    pub chids_per_process: u32,
    /// fd-space coids per process (coids run 0..this; `index` must be below it).
    pub fd_coids_per_process: u32,
    /// Side-channel coids and scoids per process.
    pub side_coids_per_process: u32,
    /// Whether priorities are applied to Linux threads.
    pub os_priority: OsPriority,
    /// How long, in nanoseconds, a blocked thread spins on its wait word before it sleeps on
    /// the futex, when the thread expected to wake it runs on another CPU: a client waiting
    /// for its reply (the server), a server waiting in MsgReceive (the channel's last client),
    /// an asyncmsg receiver (its last trigger's CPU). Never when the waker shares the CPU or
    /// is blocked itself. 0: never spin. A spin ends early at the wake-up, a signal, or the
    /// deadline of a TimerTimeout. See docs/design.md, "Lock and wait protocol".
    pub spin_ns: u32,
    /// Whether a server's wake-ups may be handed off (docs/design.md, "Wake hand-off"): a
    /// thread readied while asleep, say a client the server replied to, is woken by another
    /// readied thread of at least its priority when that one collects its own result (a
    /// moment later, usually on another CPU) instead of by the readying thread, which then
    /// makes no futex call for it. With many clients on one server the server's CPU then
    /// pays no wake-ups, and Linux places the woken clients beside their wakers rather than
    /// beside the server. Off: every readying thread wakes its sleepers itself.
    pub wake_handoff: bool,
    /// Pages (4 KiB) of the region kept for asyncmsg sender queues, in a kernel shared by
    /// programs: a queue there is read and written by the sender's library and by the kernel
    /// in the receiver's thread alike, with an inline area of 128 bytes per slot for short
    /// messages (a connection of 64 buffers takes 3 pages, of 1024 buffers 38), and for the
    /// processes' send buffers, where longer messages wait (each process takes at most a
    /// quarter of the pages, 4 MiB at most; userlib's `asyncmsg_malloc_shared`). Unused by a
    /// kernel of one program (its queues are in the sender's heap, and the pages are never
    /// touched: the memory is reserved, not used).
    pub async_queue_pages: u32,
    /// Records (128 bytes each) in the kernel's trace ring, which a recorder of a shared
    /// kernel drains (`pidin-sim --trace`; `kernel_sim::trace::Ring`). 0: no ring. The pages
    /// are touched only while something records.
    pub trace_records: u32,
}

/// The default spin budget: long enough for a peer on another CPU to answer a short request
/// (a round trip across CPUs takes about a microsecond when both sides spin), short enough
/// that a server with nothing to do gives its CPU back quickly.
pub const DEFAULT_SPIN_NS: u32 = 20_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            max_processes: 64,
            max_threads: 1024,
            max_channels: 512,
            max_connections: 4096,
            max_pulses: 4096,
            max_timers: 256,
            max_names: 256,
            max_interrupts: 64,
            chids_per_process: 128,
            fd_coids_per_process: 256,
            side_coids_per_process: 1024,
            os_priority: OsPriority::Off,
            spin_ns: DEFAULT_SPIN_NS,
            wake_handoff: true,
            async_queue_pages: 4096,
            trace_records: 16384,
        }
    }
}

impl Config {
    /// A small configuration, handy for tests of exhaustion and for loom models.
    pub fn small() -> Config {
        Config {
            max_processes: 4,
            max_threads: 8,
            max_channels: 4,
            max_connections: 8,
            max_pulses: 8,
            max_timers: 4,
            max_names: 4,
            max_interrupts: 4,
            chids_per_process: 4,
            fd_coids_per_process: 8,
            side_coids_per_process: 8,
            os_priority: OsPriority::Off,
            spin_ns: DEFAULT_SPIN_NS,
            wake_handoff: true,
            async_queue_pages: 16,
            trace_records: 64,
        }
    }

    fn validate(&self) -> KResult<()> {
        let nonzero = [
            self.max_processes,
            self.max_threads,
            self.max_channels,
            self.max_connections,
            self.max_pulses,
            self.chids_per_process,
            self.fd_coids_per_process,
            self.side_coids_per_process,
        ];
        if nonzero.contains(&0)
            || self.max_threads > 0x7fff
            || self.max_timers > 0x7fff
            || self.max_names > 0x7fff
            || self.max_interrupts > 0x7fff
            || self.side_coids_per_process > 0xffff
            || self.fd_coids_per_process > 0xffff
            || self.async_queue_pages > 1 << 20
            || self.trace_records > 1 << 24
        {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }
}

/// Byte offsets of each part of the region.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    /// The kernel lock.
    pub lock: u64,
    /// The wait words.
    pub waits: u64,
    /// Process pool.
    pub procs: u64,
    /// Thread pool.
    pub threads: u64,
    /// Channel pool.
    pub chans: u64,
    /// Connection pool.
    pub conns: u64,
    /// Pulse pool.
    pub pulses: u64,
    /// Timer pool.
    pub timers: u64,
    /// Name pool.
    pub names: u64,
    /// Interrupt attachment pool.
    pub intrs: u64,
    /// Interrupt levels' table.
    pub intr_levels: u64,
    /// Chid tables.
    pub chids: u64,
    /// fd-space coid tables.
    pub fds: u64,
    /// Side-channel coid tables.
    pub sides: u64,
    /// Message windows.
    pub windows: u64,
    /// The shared undo record's header.
    pub undo: u64,
    /// The shared undo record's before images.
    pub undo_area: u64,
    /// Each thread slot's undo record: its header, then `UNDO_THREAD_BYTES` of images.
    pub undo_threads: u64,
    /// The asyncmsg queue pages' table ([`QueuePage`] each).
    pub queue_pages: u64,
    /// The asyncmsg queue pages (page aligned).
    pub queue_arena: u64,
    /// The trace ring's header.
    pub trace: u64,
    /// The trace ring's records.
    pub trace_records: u64,
}

/// Bytes in a page of the asyncmsg queue arena.
pub const QUEUE_PAGE: usize = 4096;

/// One page of the asyncmsg queue arena, as its table records it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueuePage {
    /// 0 if free, else the owning process's slot index plus one.
    pub owner: u32,
    /// The first page of the block this page belongs to, plus one (0 if free).
    pub first: u32,
}

/// The heads of every pool.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PoolHeads {
    /// Processes.
    pub procs: PoolHead,
    /// Threads.
    pub threads: PoolHead,
    /// Channels.
    pub chans: PoolHead,
    /// Connections.
    pub conns: PoolHead,
    /// Pulses.
    pub pulses: PoolHead,
    /// Timers.
    pub timers: PoolHead,
    /// Names.
    pub names: PoolHead,
    /// Interrupt attachments.
    pub intrs: PoolHead,
}

/// The fixed part of a kernel region's header (what a process mapping the region checks
/// first), as [`crate::Kernel::region_info`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// The magic number: `b"QNXSIMK\0"` read as a little-endian `u64`.
    pub magic: u64,
    /// The layout version (a process must not map a region of another layout).
    pub version: u32,
    /// Bytes in the region.
    pub size: u64,
    /// Capacities.
    pub config: Config,
}

/// The region's header, at offset 0.
#[repr(C)]
#[derive(Debug)]
pub struct Header {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`LAYOUT_VERSION`].
    pub version: u32,
    /// (Explicit padding, written as zero: every byte of a kernel file's header is defined.
    /// As implicit padding it held whatever the stack had, and two kernels of one `Config`
    /// could differ there.)
    pub pad_version: u32,
    /// Bytes in the region.
    pub size: u64,
    /// Capacities.
    pub config: Config,
    /// Where each part is.
    pub offsets: Offsets,
    /// Pool heads.
    pub pools: PoolHeads,
    /// The next pid to hand out.
    pub next_pid: i32,
    /// How messages longer than [`WINDOW`] cross between two programs: 0 straight between
    /// their buffers (`process_vm_readv`/`writev`, copy.rs), 1 through the region (calls/
    /// bounce.rs), where Linux forbids those calls to a program of the kernel. Set once, by the
    /// first program that joins unable to make them (or told to by `QNXSIM_LONG_COPIES`);
    /// never cleared.
    pub long_copies: std::sync::atomic::AtomicU32,
    /// Kernel calls made, all processes together.
    pub kernel_entries: u64,
    /// The wake hand-off's carrier ([`Tables::carrier`]).
    pub carrier: u32,
    /// Which undo record the lock's holder writes: its thread slot's, or `undo::GLOBAL`.
    pub lock_undo: std::sync::atomic::AtomicU32,
    /// Bumped by every change to the names pool (names and mountpoints): a client that caches
    /// the mountpoints reads it without the lock to know its cache is current.
    pub names_gen: std::sync::atomic::AtomicU64,
    /// The program image of the lock's holder (`kernel::image_tag`), stored as it begins its
    /// call: a hold by a program's pid made by an image that `exec` replaced is told from one of
    /// the program's live threads by it (`Kernel::release_earlier_image_lock`).
    pub lock_image: std::sync::atomic::AtomicU64,
}

fn place<T>(off: &mut usize, n: usize) -> u64 {
    let a = align_of::<T>().max(64);
    *off = (*off + a - 1) & !(a - 1);
    let at = *off;
    *off += size_of::<T>() * n;
    at as u64
}

fn layout(cfg: &Config) -> (Offsets, usize) {
    let mut off = size_of::<Header>();
    let p = cfg.max_processes as usize;
    let o = Offsets {
        lock: place::<KernelLock>(&mut off, 1),
        waits: place::<WaitWord>(&mut off, cfg.max_threads as usize),
        procs: place::<Process>(&mut off, p),
        threads: place::<Thread>(&mut off, cfg.max_threads as usize),
        chans: place::<Channel>(&mut off, cfg.max_channels as usize),
        conns: place::<Connection>(&mut off, cfg.max_connections as usize),
        pulses: place::<PulseObj>(&mut off, cfg.max_pulses as usize),
        timers: place::<Timer>(&mut off, cfg.max_timers as usize),
        names: place::<Name>(&mut off, cfg.max_names as usize),
        intrs: place::<Interrupt>(&mut off, cfg.max_interrupts as usize),
        intr_levels: place::<IntrLevel>(&mut off, INTR_LEVELS),
        chids: place::<Id<Channel>>(&mut off, p * cfg.chids_per_process as usize),
        fds: place::<CoidSlot>(&mut off, p * cfg.fd_coids_per_process as usize),
        sides: place::<CoidSlot>(&mut off, p * cfg.side_coids_per_process as usize),
        windows: place::<u8>(&mut off, cfg.max_threads as usize * WINDOW),
        undo: place::<crate::undo::UndoHeader>(&mut off, 1),
        undo_area: place::<u64>(&mut off, crate::undo::UNDO_BYTES / 8),
        undo_threads: place::<u64>(
            &mut off,
            cfg.max_threads as usize * thread_undo_stride() / 8,
        ),
        queue_pages: place::<QueuePage>(&mut off, cfg.async_queue_pages as usize),
        queue_arena: {
            off = off.next_multiple_of(QUEUE_PAGE);
            let at = off;
            off += cfg.async_queue_pages as usize * QUEUE_PAGE;
            at as u64
        },
        trace: place::<crate::trace::RingHeader>(&mut off, 1),
        trace_records: place::<crate::trace::Record>(&mut off, cfg.trace_records as usize),
    };
    (o, (off + 4095) & !4095)
}

/// [`layout`] for a region no larger than 4 GiB (EINVAL otherwise): the undo record names the
/// places it logs by 32-bit offsets.
fn sized_layout(cfg: &Config) -> KResult<(Offsets, usize)> {
    let (o, size) = layout(cfg);
    if size > u32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    Ok((o, size))
}

/// Bytes per thread slot of the per-thread undo records: a header and its images, on cache
/// lines of their own.
fn thread_undo_stride() -> usize {
    (size_of::<crate::undo::UndoHeader>() + crate::undo::UNDO_THREAD_BYTES).next_multiple_of(128)
}

/// The kernel tables, borrowed for one critical section.
#[derive(Debug)]
pub struct Tables<'a> {
    /// Capacities.
    pub cfg: Config,
    /// Processes.
    pub procs: Pool<'a, Process>,
    /// Threads.
    pub threads: Pool<'a, Thread>,
    /// Channels.
    pub chans: Pool<'a, Channel>,
    /// Connections.
    pub conns: Pool<'a, Connection>,
    /// Queued pulses.
    pub pulses: Pool<'a, PulseObj>,
    /// Timers.
    pub timers: Pool<'a, Timer>,
    /// Names.
    pub names: Pool<'a, Name>,
    /// Interrupt attachments.
    pub intrs: Pool<'a, Interrupt>,
    /// Interrupt levels (`INTR_LEVELS`): mask counts and latched requests.
    pub intr_levels: &'a mut [IntrLevel],
    /// Per-process chid tables (`proc_slot * chids_per_process + chid - 1`).
    pub chids: &'a mut [Id<Channel>],
    /// Per-process fd-space coid tables.
    pub fds: &'a mut [CoidSlot],
    /// Per-process side-channel coid tables.
    pub sides: &'a mut [CoidSlot],
    /// The next pid.
    pub next_pid: &'a mut i32,
    /// Kernel calls made in all.
    pub kernel_entries: &'a mut u64,
    /// The wake hand-off's carrier (`Config::wake_handoff`): a thread readied with its wake-up
    /// made by the readying thread itself (or caught awake), that has not collected its result
    /// yet, or NIL. A hint, checked at each use and not in the undo record: a thread of at
    /// least the priority of a thread readied asleep takes over that one's wake-up.
    pub carrier: &'a mut u32,
    /// The names pool's change count ([`Header::names_gen`]).
    pub names_gen: &'a std::sync::atomic::AtomicU64,
    /// How long messages cross between programs ([`Header::long_copies`]).
    pub long_copies: &'a std::sync::atomic::AtomicU32,
    /// Wait words (shared: they are atomics touched outside the lock too).
    pub waits: &'a [WaitWord],
    /// Per-thread message windows ([`WINDOW`] bytes each).
    pub windows: &'a mut [u8],
    /// The region is shared by Linux programs.
    pub shared: bool,
    /// The undo record, in a shared region (undo.rs): what the call changes is logged first.
    pub undo: Option<crate::undo::UndoRef>,
    /// The asyncmsg queue pages' table.
    pub queue_pages: &'a mut [QueuePage],
    /// The asyncmsg queue arena (`queue_pages.len()` pages): raw, because the queues in it are
    /// read and written without the lock too, by their senders' libraries.
    pub queue_arena: NonNull<u8>,
    /// The trace ring (atomics: written without the lock too).
    pub trace: crate::trace::Ring<'a>,
}

/// The kernel region.
#[derive(Debug)]
pub struct Region {
    base: NonNull<u8>,
    size: usize,
    offsets: Offsets,
    cfg: Config,
    cell: TablesCell,
    /// Mapped shared from a file (other Linux processes may map it too).
    shared: bool,
    /// This program image's tag (`kernel::image_tag`), read once at the mapping: what a call
    /// stores in the header's `lock_image` as it begins (shared regions).
    #[cfg_attr(loom, allow(dead_code))]
    image: u64,
    /// The undo record of the call holding the lock (shared regions): set by the holder when
    /// it takes its view of the tables, which point at it.
    /// (Boxed: the view points at it, and the region may move after the view is built.)
    cur_undo: Box<crate::undo::UndoSlot>,
    /// The view of the tables, built once when the region is mapped and lent to each holder
    /// of the lock (building it for each critical section cost about 80 instructions, three
    /// times per round trip). Its `'static` is this mapping's life: it is only ever lent out
    /// for one critical section, to code that must work for any lifetime (`with_tables`).
    view: std::cell::UnsafeCell<Option<Tables<'static>>>,
}

// SAFETY: the region is plain memory whose mutable parts are reached only through the kernel
// lock (`Tables`) or through atomics (`KernelLock`, `WaitWord`); the pointer is never exposed.
unsafe impl Send for Region {}
// SAFETY: as above: shared access is to atomics only; table access is serialized by the lock.
unsafe impl Sync for Region {}

/// Writes `n` values made by `f` into uninitialized memory at `p`.
///
/// # Safety
/// `p` must be valid for writes of `n` `T`s and suitably aligned.
unsafe fn init_array<T>(p: *mut T, n: usize, f: impl Fn() -> T) {
    for i in 0..n {
        // SAFETY: the caller guarantees room for `n` aligned `T`s at `p`.
        unsafe { p.add(i).write(f()) };
    }
}

/// The first pid a shared kernel hands to a simulated process that is not a Linux process of
/// its own (`Kernel::process_create`): above every Linux pid (`PID_MAX_LIMIT` is 2^22), so the
/// two never collide.
pub const SHARED_FIRST_PID: i32 = (1 << 22) + 1;

impl Region {
    /// Creates and formats a region for `cfg` in anonymous memory: a kernel of one Linux
    /// process.
    pub fn new(cfg: Config) -> KResult<Region> {
        cfg.validate()?;
        let (offsets, size) = sized_layout(&cfg)?;
        let base = Self::alloc(size)?;
        let r = Region {
            base,
            size,
            offsets,
            cfg,
            cell: TablesCell::new(),
            shared: false,
            image: 0,
            cur_undo: Box::default(),
            view: std::cell::UnsafeCell::new(None),
        };
        // SAFETY: the block is `size` bytes, page aligned, freshly allocated and ours alone.
        unsafe {
            r.format(2);
            r.build_view();
        }
        Ok(r)
    }

    /// Creates and formats a region for `cfg` in `file` (sized to fit, mapped shared): a kernel
    /// that other Linux processes may map with [`Region::open_shared`]. The file should not be
    /// visible to them before this returns (create it under a temporary name, then rename).
    #[cfg(not(loom))]
    pub fn create_shared(file: &std::fs::File, cfg: Config) -> KResult<Region> {
        cfg.validate()?;
        let (offsets, size) = sized_layout(&cfg)?;
        file.set_len(size as u64).map_err(|_| Errno::ENOMEM)?;
        let base = Self::map_file(file, size)?;
        let r = Region {
            base,
            size,
            offsets,
            cfg,
            cell: TablesCell::new(),
            shared: true,
            image: crate::kernel::image_tag(),
            cur_undo: Box::default(),
            view: std::cell::UnsafeCell::new(None),
        };
        // SAFETY: the mapping is `size` bytes, page aligned, and not yet visible to anyone else
        // (the caller's contract); the file was zero-filled by `set_len`.
        unsafe {
            r.format(SHARED_FIRST_PID);
            r.build_view();
        }
        Ok(r)
    }

    /// Maps the region another process created in `file`, after checking its header: EINVAL
    /// for a file that is not a kernel region (wrong magic, size or offsets), ENOTSUP for a
    /// region of another layout version.
    #[cfg(not(loom))]
    pub fn open_shared(file: &std::fs::File) -> KResult<Region> {
        let len = file.metadata().map_err(|_| Errno::EINVAL)?.len();
        if len < size_of::<Header>() as u64 || len > isize::MAX as u64 {
            return Err(Errno::EINVAL);
        }
        let size = len as usize;
        let base = Self::map_file(file, size)?;
        let h = base.as_ptr() as *const Header;
        // SAFETY: the mapping holds at least a header's bytes; each field is read raw, and the
        // enum in the configuration is checked as an integer before the whole is read as a
        // `Config` (another process's bytes are not trusted to be a valid `Config`).
        let checked = unsafe {
            let magic = std::ptr::addr_of!((*h).magic).read();
            let version = std::ptr::addr_of!((*h).version).read();
            let hsize = std::ptr::addr_of!((*h).size).read();
            let cfgp = std::ptr::addr_of!((*h).config);
            let prio = std::ptr::addr_of!((*cfgp).os_priority).cast::<u32>().read();
            let handoff = std::ptr::addr_of!((*cfgp).wake_handoff).cast::<u8>().read();
            if magic != MAGIC || hsize != len {
                Err(Errno::EINVAL)
            } else if version != LAYOUT_VERSION {
                Err(Errno::ENOTSUP)
            } else if prio > OsPriority::Fifo as u32 || handoff > 1 {
                Err(Errno::EINVAL)
            } else {
                let cfg = cfgp.read();
                let offsets = std::ptr::addr_of!((*h).offsets).read();
                Ok((cfg, offsets))
            }
        };
        let unmap = |e| {
            // SAFETY: `base`/`size` are the mapping `map_file` just made; nothing uses it.
            let _ = unsafe { nix::sys::mman::munmap(base.cast(), size) };
            Err(e)
        };
        let (cfg, offsets) = match checked {
            Ok(v) => v,
            Err(e) => return unmap(e),
        };
        if cfg.validate().is_err() {
            return unmap(Errno::EINVAL);
        }
        let Ok((want, want_size)) = sized_layout(&cfg) else {
            return unmap(Errno::EINVAL);
        };
        if want_size != size || want != offsets {
            return unmap(Errno::EINVAL);
        }
        let r = Region {
            base,
            size,
            offsets,
            cfg,
            cell: TablesCell::new(),
            shared: true,
            image: crate::kernel::image_tag(),
            cur_undo: Box::default(),
            view: std::cell::UnsafeCell::new(None),
        };
        // SAFETY: the header was checked against `layout`: every part is where the view says.
        unsafe { r.build_view() };
        Ok(r)
    }

    /// Whether the region is mapped shared (other Linux processes may map it): its futex
    /// words are then process-shared.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    #[cfg(not(loom))]
    fn map_file(file: &std::fs::File, size: usize) -> KResult<NonNull<u8>> {
        use nix::sys::mman::{mmap, MapFlags, ProtFlags};
        let len = std::num::NonZeroUsize::new(size).ok_or(Errno::EINVAL)?;
        // SAFETY: a shared mapping of a file we hold open; the region's bytes are reached only
        // through the kernel lock or atomics, in every process that maps it (the trust model in
        // docs/design.md: admitted processes are threads of one program, as it were).
        let p = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                file,
                0,
            )
        }
        .map_err(|_| Errno::ENOMEM)?;
        Ok(p.cast())
    }

    /// Writes the header and every part's initial contents; pids start at `first_pid`.
    ///
    /// # Safety
    /// The block at `base` must be `size` bytes, page aligned and seen by no one else yet.
    unsafe fn format(&self, first_pid: i32) {
        let (base, size, offsets, cfg) = (self.base, self.size, self.offsets, self.cfg);
        let r = self;
        // SAFETY: the caller's contract; every offset from `layout` is aligned for its type and
        // in bounds.
        unsafe {
            let b = base.as_ptr();
            let p = cfg.max_processes as usize;
            (b as *mut Header).write(Header {
                magic: MAGIC,
                version: LAYOUT_VERSION,
                pad_version: 0,
                size: size as u64,
                config: cfg,
                offsets,
                pools: PoolHeads {
                    procs: PoolHead::new(0),
                    threads: PoolHead::new(0),
                    chans: PoolHead::new(0),
                    conns: PoolHead::new(0),
                    pulses: PoolHead::new(0),
                    timers: PoolHead::new(0),
                    names: PoolHead::new(0),
                    intrs: PoolHead::new(0),
                },
                next_pid: first_pid,
                long_copies: std::sync::atomic::AtomicU32::new(0),
                kernel_entries: 0,
                carrier: crate::pool::NIL,
                lock_undo: std::sync::atomic::AtomicU32::new(crate::undo::GLOBAL),
                names_gen: std::sync::atomic::AtomicU64::new(0),
                lock_image: std::sync::atomic::AtomicU64::new(0),
            });
            (b.add(offsets.lock as usize) as *mut KernelLock).write(KernelLock::new());
            init_array(
                b.add(offsets.waits as usize) as *mut WaitWord,
                cfg.max_threads as usize,
                WaitWord::new,
            );
            init_array(
                b.add(offsets.procs as usize) as *mut Process,
                p,
                Process::vacant,
            );
            init_array(
                b.add(offsets.threads as usize) as *mut Thread,
                cfg.max_threads as usize,
                Thread::vacant,
            );
            init_array(
                b.add(offsets.chans as usize) as *mut Channel,
                cfg.max_channels as usize,
                Channel::vacant,
            );
            init_array(
                b.add(offsets.conns as usize) as *mut Connection,
                cfg.max_connections as usize,
                Connection::vacant,
            );
            init_array(
                b.add(offsets.pulses as usize) as *mut PulseObj,
                cfg.max_pulses as usize,
                PulseObj::vacant,
            );
            init_array(
                b.add(offsets.timers as usize) as *mut Timer,
                cfg.max_timers as usize,
                Timer::vacant,
            );
            init_array(
                b.add(offsets.names as usize) as *mut Name,
                cfg.max_names as usize,
                Name::vacant,
            );
            init_array(
                b.add(offsets.intrs as usize) as *mut Interrupt,
                cfg.max_interrupts as usize,
                Interrupt::vacant,
            );
            init_array(
                b.add(offsets.intr_levels as usize) as *mut IntrLevel,
                INTR_LEVELS,
                IntrLevel::default,
            );
            init_array(
                b.add(offsets.chids as usize) as *mut Id<Channel>,
                p * cfg.chids_per_process as usize,
                || Id::NONE,
            );
            init_array(
                b.add(offsets.fds as usize) as *mut CoidSlot,
                p * cfg.fd_coids_per_process as usize,
                || CoidSlot::Free,
            );
            init_array(
                b.add(offsets.sides as usize) as *mut CoidSlot,
                p * cfg.side_coids_per_process as usize,
                || CoidSlot::Free,
            );
            init_array(
                b.add(offsets.windows as usize),
                cfg.max_threads as usize * WINDOW,
                || 0u8,
            );
            init_array(
                b.add(offsets.queue_pages as usize) as *mut QueuePage,
                cfg.async_queue_pages as usize,
                QueuePage::default,
            );
            // (The trace ring's records start all zero, as the fresh mapping already is: never
            // written. Only its header is written.)
            (b.add(offsets.trace as usize) as *mut crate::trace::RingHeader)
                .write(crate::trace::RingHeader::default());
            // (The queue arena's pages are formatted block by block as queues are made.)
            // The undo records (the shared one and each thread slot's) start empty: all zero,
            // as the fresh mapping already is, so their pages are not touched until used.
            let mut t = r.make_view();
            t.procs.format();
            t.threads.format();
            t.chans.format();
            t.conns.format();
            t.pulses.format();
            t.timers.format();
            t.names.format();
            t.intrs.format();
        }
    }

    #[cfg(not(loom))]
    fn alloc(size: usize) -> KResult<NonNull<u8>> {
        use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
        let len = std::num::NonZeroUsize::new(size).ok_or(Errno::EINVAL)?;
        // SAFETY: an anonymous private mapping aliases nothing; we own it until `drop` unmaps it.
        let p = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .map_err(|_| Errno::ENOMEM)?;
        Ok(p.cast())
    }

    #[cfg(loom)]
    fn alloc(size: usize) -> KResult<NonNull<u8>> {
        let l = std::alloc::Layout::from_size_align(size, 4096).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `l` has a non-zero size.
        NonNull::new(unsafe { std::alloc::alloc_zeroed(l) }).ok_or(Errno::ENOMEM)
    }

    /// The header's fixed part: magic, layout version, size and configuration (a copy: the
    /// rest of the header changes under the kernel lock).
    pub fn header(&self) -> RegionInfo {
        let h = self.base.as_ptr() as *const Header;
        // SAFETY: the header is initialized in `new`; these fields are written only there, so
        // reading them through raw pointers (no reference to the whole header) races nothing.
        unsafe {
            RegionInfo {
                magic: std::ptr::addr_of!((*h).magic).read(),
                version: std::ptr::addr_of!((*h).version).read(),
                size: std::ptr::addr_of!((*h).size).read(),
                config: std::ptr::addr_of!((*h).config).read(),
            }
        }
    }

    /// Capacities.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The undo record the lock's holder writes, in a shared region (`None` for a kernel of
    /// one program: no program of it can die apart from the others).
    pub fn undo(&self) -> Option<crate::undo::Undo> {
        if !self.shared {
            return None;
        }
        let which = self.lock_undo().load(std::sync::atomic::Ordering::Relaxed);
        self.undo_record(which)
    }

    /// Undo record `which`: thread slot `which`'s, or the shared one (`undo::GLOBAL`, or any
    /// slot out of range).
    fn undo_record(&self, which: u32) -> Option<crate::undo::Undo> {
        let b = self.base.as_ptr();
        let (hdr, area, bytes) = if which < self.cfg.max_threads {
            let at = self.offsets.undo_threads as usize + which as usize * thread_undo_stride();
            (
                at,
                at + size_of::<crate::undo::UndoHeader>(),
                crate::undo::UNDO_THREAD_BYTES,
            )
        } else {
            (
                self.offsets.undo as usize,
                self.offsets.undo_area as usize,
                crate::undo::UNDO_BYTES,
            )
        };
        // SAFETY: the offsets come from `layout`, inside the region, formatted in `format` (or
        // checked against `layout` in `open_shared`).
        unsafe {
            Some(crate::undo::Undo::new(
                self.base,
                self.size,
                NonNull::new_unchecked(b.add(hdr).cast()),
                NonNull::new_unchecked(b.add(area)),
                bytes,
            ))
        }
    }

    /// The trace ring: atomics, used without the lock.
    #[inline(always)]
    pub fn trace_ring(&self) -> crate::trace::Ring<'_> {
        let b = self.base.as_ptr();
        // SAFETY: both parts were placed by `layout` (aligned, in bounds, apart from every
        // other part) and formatted in `format` (the records all zero: valid atomics); they are
        // only ever reached shared, as atomics.
        unsafe {
            crate::trace::Ring::new(
                &*(b.add(self.offsets.trace as usize) as *const crate::trace::RingHeader),
                std::slice::from_raw_parts(
                    b.add(self.offsets.trace_records as usize) as *const crate::trace::Record,
                    self.cfg.trace_records as usize,
                ),
            )
        }
    }

    /// The names pool's change count, read without the lock ([`Header::names_gen`]).
    pub fn names_generation(&self) -> u64 {
        let h = self.base.as_ptr() as *const Header;
        // SAFETY: initialized in `format`; an atomic; `Tables` only ever borrows it shared.
        unsafe { &*std::ptr::addr_of!((*h).names_gen) }.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether messages longer than [`WINDOW`] cross between programs through the region
    /// ([`Header::long_copies`]) rather than straight between their buffers.
    pub fn long_copies_through_region(&self) -> bool {
        self.long_copies()
            .load(std::sync::atomic::Ordering::Acquire)
            != 0
    }

    /// Makes messages longer than [`WINDOW`] cross between programs through the region from now
    /// on, for every program of the kernel (never undone).
    pub fn set_long_copies_through_region(&self) {
        self.long_copies()
            .store(1, std::sync::atomic::Ordering::Release);
    }

    fn long_copies(&self) -> &std::sync::atomic::AtomicU32 {
        let h = self.base.as_ptr() as *const Header;
        // SAFETY: initialized in `format`; an atomic; `Tables` only ever borrows it shared.
        unsafe { &*std::ptr::addr_of!((*h).long_copies) }
    }

    /// The program image of the lock's holder, as it began its call (0: none yet).
    #[cfg(not(loom))]
    pub fn lock_image(&self) -> &std::sync::atomic::AtomicU64 {
        let h = self.base.as_ptr() as *const Header;
        // SAFETY: initialized in `format`; an atomic; no `Tables` borrows it.
        unsafe { &*std::ptr::addr_of!((*h).lock_image) }
    }

    fn lock_undo(&self) -> &std::sync::atomic::AtomicU32 {
        let h = self.base.as_ptr() as *const Header;
        // SAFETY: initialized in `format`; an atomic; no `Tables` borrows it.
        unsafe { &*std::ptr::addr_of!((*h).lock_undo) }
    }

    /// Starts the undo record of a call made by thread slot `slot` (`undo::GLOBAL`: no kernel
    /// thread), which just took the lock. (The header's changing fields are logged where they
    /// change: a pool's head by its `alloc` and `free`, the next pid where a process is made;
    /// the kernel-entry count is a statistic, not logged.)
    pub fn undo_begin(&self, slot: u32) {
        if !self.shared {
            return;
        }
        self.lock_undo()
            .store(slot, std::sync::atomic::Ordering::Relaxed);
        #[cfg(not(loom))]
        self.lock_image()
            .store(self.image, std::sync::atomic::Ordering::Relaxed);
        if let Some(u) = self.undo() {
            u.begin();
        }
    }

    /// Commits the undo record (the caller is about to release the lock).
    pub fn undo_commit(&self) {
        if let Some(u) = self.undo() {
            u.commit();
        }
    }

    /// The address of byte `offset` of the asyncmsg queue arena (clamped into the arena).
    pub fn queue_block(&self, offset: u64) -> *mut u8 {
        let len = self.cfg.async_queue_pages as u64 * QUEUE_PAGE as u64;
        let at = self.offsets.queue_arena + offset.min(len);
        // SAFETY: `at` is inside the mapping (the arena ends within it).
        unsafe { self.base.as_ptr().add(at as usize) }
    }

    /// The kernel lock.
    pub fn lock_word(&self) -> &KernelLock {
        // SAFETY: initialized in `new`, aligned, accessed only through its atomic operations.
        unsafe { &*(self.base.as_ptr().add(self.offsets.lock as usize) as *const KernelLock) }
    }

    /// The wait words, one per thread slot.
    pub fn waits(&self) -> &[WaitWord] {
        // SAFETY: initialized in `new`; atomics only, so shared references are always fine.
        unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(self.offsets.waits as usize) as *const WaitWord,
                self.cfg.max_threads as usize,
            )
        }
    }

    /// Runs `f` over the tables as an exclusive access (checked by loom under `--cfg loom`).
    ///
    /// # Safety
    /// The caller must hold the kernel lock for the whole call, so that no other `Tables` exists.
    pub unsafe fn with_tables<R>(&self, f: impl FnOnce(&mut Tables<'_>) -> R) -> R {
        self.cell.with_mut(|| {
            // SAFETY: the caller holds the kernel lock, so this is the only use of the view.
            f(unsafe { self.tables_unlocked() })
        })
    }

    /// The view of the tables, for the holder of the lock: in a shared region, the undo record
    /// its pools log into is first set to the holder's.
    ///
    /// # Safety
    /// No other use of the view may happen while the result lives (the caller holds the lock).
    #[inline]
    #[allow(clippy::mut_from_ref)] // (The kernel lock, which the caller holds, is the guard.)
    unsafe fn tables_unlocked(&self) -> &mut Tables<'static> {
        if self.shared {
            // SAFETY: the caller holds the kernel lock: no other view uses the slot. The view's
            // pools point at the slot (`make_view`), whatever it holds.
            unsafe { self.cur_undo.set(self.undo()) };
        }
        // SAFETY: built in the constructors, before the region was shared with anyone; the
        // caller's contract makes this the only use.
        unsafe {
            (*self.view.get())
                .as_mut()
                .unwrap_or_else(|| unreachable!("the view is built at construction"))
        }
    }

    /// Builds the view lent out by `tables_unlocked`.
    ///
    /// # Safety
    /// The region is formatted (or checked); called once, before any `with_tables`.
    unsafe fn build_view(&self) {
        // SAFETY: the caller's contract; the mapping lives as long as `self`, and the view is
        // lent only for critical sections, under the lock (see the field's doc).
        unsafe {
            let v: Tables<'static> = std::mem::transmute(self.make_view());
            *self.view.get() = Some(v);
        }
    }

    /// A view of the tables over this mapping.
    ///
    /// # Safety
    /// No other `Tables` may be used while the result lives.
    #[inline]
    unsafe fn make_view(&self) -> Tables<'_> {
        let b = self.base.as_ptr();
        let o = &self.offsets;
        let c = &self.cfg;
        let p = c.max_processes as usize;
        // SAFETY: every part was initialized in `new` at an aligned, in-bounds offset; the parts
        // do not overlap each other nor the atomics; the caller guarantees exclusivity.
        unsafe {
            // Only the header's changing fields are borrowed mutably; the fixed ones stay
            // readable by `header()` without the lock.
            let h = b as *mut Header;
            let heads = &mut *std::ptr::addr_of_mut!((*h).pools);
            let undo = if self.shared {
                // SAFETY: the caller's contract: no other view uses the slot now. (Each holder
                // of the lock sets it again: `tables_unlocked`.)
                self.cur_undo.set(self.undo())
            } else {
                None
            };
            Tables {
                cfg: *c,
                procs: Pool::logged(&mut heads.procs, slice_mut(b, o.procs, p), undo),
                threads: Pool::logged(
                    &mut heads.threads,
                    slice_mut(b, o.threads, c.max_threads as usize),
                    undo,
                ),
                chans: Pool::logged(
                    &mut heads.chans,
                    slice_mut(b, o.chans, c.max_channels as usize),
                    undo,
                ),
                conns: Pool::logged(
                    &mut heads.conns,
                    slice_mut(b, o.conns, c.max_connections as usize),
                    undo,
                ),
                pulses: Pool::logged(
                    &mut heads.pulses,
                    slice_mut(b, o.pulses, c.max_pulses as usize),
                    undo,
                ),
                timers: Pool::logged(
                    &mut heads.timers,
                    slice_mut(b, o.timers, c.max_timers as usize),
                    undo,
                ),
                names: Pool::logged(
                    &mut heads.names,
                    slice_mut(b, o.names, c.max_names as usize),
                    undo,
                ),
                intrs: Pool::logged(
                    &mut heads.intrs,
                    slice_mut(b, o.intrs, c.max_interrupts as usize),
                    undo,
                ),
                intr_levels: slice_mut(b, o.intr_levels, INTR_LEVELS),
                chids: slice_mut(b, o.chids, p * c.chids_per_process as usize),
                fds: slice_mut(b, o.fds, p * c.fd_coids_per_process as usize),
                sides: slice_mut(b, o.sides, p * c.side_coids_per_process as usize),
                next_pid: &mut *std::ptr::addr_of_mut!((*h).next_pid),
                kernel_entries: &mut *std::ptr::addr_of_mut!((*h).kernel_entries),
                carrier: &mut *std::ptr::addr_of_mut!((*h).carrier),
                names_gen: &*std::ptr::addr_of!((*h).names_gen),
                long_copies: &*std::ptr::addr_of!((*h).long_copies),
                waits: self.waits(),
                windows: slice_mut(b, o.windows, c.max_threads as usize * WINDOW),
                shared: self.shared,
                undo,
                queue_pages: slice_mut(b, o.queue_pages, c.async_queue_pages as usize),
                queue_arena: NonNull::new_unchecked(b.add(o.queue_arena as usize)),
                trace: self.trace_ring(),
            }
        }
    }
}

/// # Safety
/// `b + off` must hold `n` initialized, aligned `T`s not otherwise borrowed for `'a`.
unsafe fn slice_mut<'a, T>(b: *mut u8, off: u64, n: usize) -> &'a mut [T] {
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts_mut(b.add(off as usize) as *mut T, n) }
}

impl Drop for Region {
    fn drop(&mut self) {
        // The view's references go before the memory they point at.
        *self.view.get_mut() = None;
        let b = self.base.as_ptr();
        // SAFETY: we own the block; nothing borrows it any more (`&mut self`). Under loom the
        // atomics hold loom state that must be dropped; the other parts are plain data.
        unsafe {
            std::ptr::drop_in_place(b.add(self.offsets.lock as usize) as *mut KernelLock);
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                b.add(self.offsets.waits as usize) as *mut WaitWord,
                self.cfg.max_threads as usize,
            ));
        }
        #[cfg(not(loom))]
        // SAFETY: `base`/`size` are exactly what `mmap_anonymous` returned in `alloc` (or `mmap`
        // in `map_file`).
        unsafe {
            let _ = nix::sys::mman::munmap(self.base.cast(), self.size);
        }
        #[cfg(loom)]
        // SAFETY: allocated in `alloc` with this layout.
        unsafe {
            std::alloc::dealloc(
                b,
                std::alloc::Layout::from_size_align_unchecked(self.size, 4096),
            );
        }
    }
}
