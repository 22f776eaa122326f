//! The timing calls of `<sys/neutrino.h>` and `<sys/syspage.h>` that drivers and applications
//! use: `ClockCycles`, `ClockTime`, `ClockPeriod` (with their `_r` twins) and the system page
//! (`_syspage_ptr`, `SYSPAGE_ENTRY(qtime)`).
//!
//! * `ClockCycles()` is `CLOCK_MONOTONIC_RAW` in nanoseconds: a free-running 64-bit counter at
//!   1 GHz, read through the vDSO, the same in every program of the machine (QNX's is the CPU's
//!   cycle counter; programs scale it by `SYSPAGE_ENTRY(qtime)->cycles_per_sec`, 10^9 here).
//! * `ClockTime` reads `CLOCK_REALTIME` or `CLOCK_MONOTONIC` in nanoseconds and sets
//!   `CLOCK_REALTIME` through `clock_settime` (EPERM for an unprivileged user, as QNX's without
//!   `PROCMGR_AID_CLOCKSET`); `CLOCK_MONOTONIC` cannot be set (EINVAL), other clocks are EINVAL.
//! * `ClockPeriod` reports the clock's resolution (`clock_getres`). A new period is EPERM:
//!   Linux has no tick a process can change (its timers are high-resolution already), so no
//!   period set here could mean what it means on QNX; EPERM is what a QNX process without
//!   `PROCMGR_AID_CLOCKPERIOD` gets, and QNX code already treats it as "keep the default".
//! * The system page is one read-only page of this library holding `struct syspage_entry` and
//!   `struct qtime_entry` with only the members filled truthfully (`num_cpu`, `cycles_per_sec`,
//!   `boot_time`, the sizes and the entry's offset); `_syspage_ptr` points to it from the
//!   start (initialised data), and a constructor that runs before the program's own fills the
//!   values known only at run time and makes the page read-only.
//!
//! None of these needs the simulated kernel: they work in a program that never makes a kernel
//! call, and make none. Like the kernel calls, they leave `errno` alone unless they fail, and
//! their `_r` forms never touch it.

use kernel_sim::{Errno, KResult};
use libc::{c_int, clockid_t, timespec};
use std::cell::UnsafeCell;
use std::mem::{offset_of, size_of};
use std::panic::catch_unwind;

/// `SYSPAGE_ENTRY(qtime)->cycles_per_sec`: `ClockCycles` counts nanoseconds.
pub const CYCLES_PER_SEC: u64 = 1_000_000_000;

/// `clock`'s time (`clock_gettime`).
fn now(clock: clockid_t) -> KResult<timespec> {
    let mut ts = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is ours and writable.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return Err(crate::last_errno());
    }
    Ok(ts)
}

/// A nonnegative timespec in nanoseconds (EOVERFLOW past 2^64 ns or before 0).
fn ns_of(ts: &timespec) -> KResult<u64> {
    u64::try_from(ts.tv_sec)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|s| s.checked_add(u64::try_from(ts.tv_nsec).ok()?))
        .ok_or(Errno::EOVERFLOW)
}

// ------------------------------------------------------------------ ClockCycles

/// `ClockCycles()`: `CLOCK_MONOTONIC_RAW` in nanoseconds (a 1 GHz free-running counter, the
/// same in every program of the machine). Never fails.
#[no_mangle]
pub extern "C" fn ClockCycles() -> u64 {
    let mut ts = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is ours and writable. CLOCK_MONOTONIC_RAW exists on every Linux this runs
    // on (2.6.28 and later); errno is not touched on success.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_RAW, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

// ------------------------------------------------------------------ ClockTime

/// The clocks `ClockTime` and `ClockPeriod` know (others: EINVAL).
fn known(id: clockid_t) -> KResult<()> {
    match id {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `ClockTime(id, ntime, otime)`: see the module's text. `otime` is written only on success.
///
/// # Safety
/// `ntime` NULL or a readable `uint64_t`; `otime` NULL or a writable one.
unsafe fn clock_time(id: clockid_t, ntime: *const u64, otime: *mut u64) -> KResult<c_int> {
    known(id)?;
    let old = ns_of(&now(id)?)?;
    // SAFETY: NULL or the caller's readable value (its promise).
    if let Some(&new) = unsafe { ntime.as_ref() } {
        if id != libc::CLOCK_REALTIME {
            return Err(Errno::EINVAL);
        }
        let ts = timespec {
            tv_sec: (new / 1_000_000_000) as libc::time_t,
            tv_nsec: (new % 1_000_000_000) as libc::c_long,
        };
        // SAFETY: `ts` is ours and valid.
        if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } != 0 {
            return Err(crate::last_errno());
        }
    }
    // SAFETY: NULL or the caller's writable value (its promise).
    if let Some(o) = unsafe { otime.as_mut() } {
        *o = old;
    }
    Ok(0)
}

/// `ClockTime(id, ntime, otime)`: `otime` (NULL: not wanted) gets clock `id`'s time in ns,
/// read before `ntime` (NULL: no change) sets it. `CLOCK_REALTIME` and `CLOCK_MONOTONIC`;
/// EINVAL another clock, or setting `CLOCK_MONOTONIC`; `clock_settime`'s errors setting
/// `CLOCK_REALTIME` (EPERM unprivileged). 0, or -1 with `errno`.
///
/// # Safety
/// `ntime` is NULL or a readable `uint64_t`; `otime` NULL or a writable one.
#[no_mangle]
pub unsafe extern "C" fn ClockTime(id: clockid_t, ntime: *const u64, otime: *mut u64) -> c_int {
    // SAFETY: forwarded from our C caller.
    crate::plain(crate::keep_errno(|| unsafe {
        clock_time(id, ntime, otime)
    }))
}

/// `ClockTime` returning the negative errno instead of setting `errno`.
///
/// # Safety
/// As `ClockTime`.
#[no_mangle]
pub unsafe extern "C" fn ClockTime_r(id: clockid_t, ntime: *const u64, otime: *mut u64) -> c_int {
    // SAFETY: forwarded from our C caller.
    crate::r_form(crate::keep_errno(|| unsafe {
        clock_time(id, ntime, otime)
    }))
}

// ------------------------------------------------------------------ ClockPeriod

/// QNX's `struct _clockperiod`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockPeriodC {
    /// The period in nanoseconds.
    pub nsec: u32,
    /// Fractions of a nanosecond (0).
    pub fract: i32,
}

/// `ClockPeriod(id, nperiod, operiod, reserved)`: see the module's text.
///
/// # Safety
/// `operiod` NULL or a writable `struct _clockperiod` (`nperiod` is not read).
unsafe fn clock_period(
    id: clockid_t,
    nperiod: *const ClockPeriodC,
    operiod: *mut ClockPeriodC,
) -> KResult<c_int> {
    known(id)?;
    if !nperiod.is_null() {
        return Err(Errno::EPERM);
    }
    // SAFETY: NULL or the caller's writable struct (its promise).
    if let Some(o) = unsafe { operiod.as_mut() } {
        let mut res = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `res` is ours and writable.
        if unsafe { libc::clock_getres(id, &mut res) } != 0 {
            return Err(crate::last_errno());
        }
        *o = ClockPeriodC {
            nsec: u32::try_from(ns_of(&res)?).unwrap_or(u32::MAX),
            fract: 0,
        };
    }
    Ok(0)
}

/// `ClockPeriod(id, nperiod, operiod, reserved)`: `operiod` (NULL: not wanted) gets clock
/// `id`'s resolution (`clock_getres`; `fract` 0). `CLOCK_REALTIME` and `CLOCK_MONOTONIC`
/// (others EINVAL); a new period (`nperiod` not NULL) is EPERM, nothing written. `reserved` is
/// not used. 0, or -1 with `errno`.
///
/// # Safety
/// `operiod` is NULL or a writable `struct _clockperiod`.
#[no_mangle]
pub unsafe extern "C" fn ClockPeriod(
    id: clockid_t,
    nperiod: *const ClockPeriodC,
    operiod: *mut ClockPeriodC,
    _reserved: c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller.
    crate::plain(crate::keep_errno(|| unsafe {
        clock_period(id, nperiod, operiod)
    }))
}

/// `ClockPeriod` returning the negative errno instead of setting `errno`.
///
/// # Safety
/// As `ClockPeriod`.
#[no_mangle]
pub unsafe extern "C" fn ClockPeriod_r(
    id: clockid_t,
    nperiod: *const ClockPeriodC,
    operiod: *mut ClockPeriodC,
    _reserved: c_int,
) -> c_int {
    // SAFETY: forwarded from our C caller.
    crate::r_form(crate::keep_errno(|| unsafe {
        clock_period(id, nperiod, operiod)
    }))
}

// ------------------------------------------------------------------ the system page

/// `struct syspage_entry_info`: where an entry lies in the page.
#[repr(C)]
#[derive(Debug)]
pub struct SyspageEntryInfo {
    /// Its offset from the page's start.
    pub entry_off: u16,
    /// Its size.
    pub entry_size: u16,
}

/// `struct syspage_entry`, the members filled here (`<sys/syspage.h>`).
#[repr(C)]
#[derive(Debug)]
pub struct SyspageEntry {
    /// `sizeof(struct syspage_entry)`.
    pub size: u16,
    /// The page's size, entries included.
    pub total_size: u16,
    /// The CPUs online.
    pub num_cpu: u16,
    /// The `qtime` entry.
    pub qtime: SyspageEntryInfo,
}

/// `struct qtime_entry`, the members filled here.
#[repr(C)]
#[derive(Debug)]
pub struct QtimeEntry {
    /// `ClockCycles` counts per second: [`CYCLES_PER_SEC`].
    pub cycles_per_sec: u64,
    /// Seconds since the epoch at boot.
    pub boot_time: u32,
}

/// What the page holds: the header, then the entries.
#[repr(C)]
#[derive(Debug)]
struct Contents {
    header: SyspageEntry,
    qtime: QtimeEntry,
}

/// One page of its own (so that making it read-only touches nothing else).
#[repr(C, align(4096))]
struct Page(UnsafeCell<Contents>);

// SAFETY: written only by `syspage_init`, before any other thread of the program exists (a
// constructor); read-only afterwards.
unsafe impl Sync for Page {}

const PAGE_SIZE: usize = size_of::<Page>();

static PAGE: Page = Page(UnsafeCell::new(Contents {
    header: SyspageEntry {
        size: size_of::<SyspageEntry>() as u16,
        total_size: size_of::<Contents>() as u16,
        num_cpu: 0,
        qtime: SyspageEntryInfo {
            entry_off: offset_of!(Contents, qtime) as u16,
            entry_size: size_of::<QtimeEntry>() as u16,
        },
    },
    qtime: QtimeEntry {
        cycles_per_sec: CYCLES_PER_SEC,
        boot_time: 0,
    },
}));

/// `_syspage_ptr`'s type: a pointer C may share between threads (the page is read-only).
#[repr(transparent)]
#[derive(Debug)]
pub struct SyspagePtr(pub *const SyspageEntry);

// SAFETY: it points to the read-only page (see `Page`).
unsafe impl Sync for SyspagePtr {}

/// `_syspage_ptr`: this machine's system page (`extern struct syspage_entry *const
/// _syspage_ptr;` in `<sys/syspage.h>`). Initialised data: valid from the start.
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static _syspage_ptr: SyspagePtr = SyspagePtr(PAGE.0.get().cast_const().cast());

/// Seconds since the epoch at boot: `/proc/stat`'s `btime`, read with plain system calls (no
/// interposed `open`, no allocation beyond a buffer; this runs before main); else the
/// realtime clock less the time since boot.
fn boot_time() -> u32 {
    btime_of_proc_stat()
        .or_else(|| {
            let real = now(libc::CLOCK_REALTIME).ok()?;
            let up = now(libc::CLOCK_BOOTTIME).ok()?;
            u32::try_from(real.tv_sec - up.tv_sec).ok()
        })
        .unwrap_or(0)
}

/// `/proc/stat`'s `btime` line.
fn btime_of_proc_stat() -> Option<u32> {
    // SAFETY: a NUL-terminated path and plain flags; the raw system call bypasses libqnxsim's
    // interposed `open`.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/proc/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is ours, its length given; `fd` is our descriptor.
        let n = unsafe { libc::syscall(libc::SYS_read, fd, buf.as_mut_ptr(), buf.len()) };
        if n <= 0 || text.len() > (1 << 22) {
            break;
        }
        text.extend_from_slice(&buf[..n as usize]);
    }
    // SAFETY: our descriptor, closed once.
    unsafe { libc::syscall(libc::SYS_close, fd) };
    text.split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"btime "))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Fills the page's run-time values and makes it read-only.
extern "C" fn syspage_init() {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid to read.
    let saved = unsafe { *libc::__errno_location() };
    let _ = catch_unwind(|| {
        // SAFETY: sysconf with a valid name.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        let boot = boot_time();
        // SAFETY: the only writer, before any other thread (a constructor) and before the
        // page is made read-only below.
        unsafe {
            let c = &mut *PAGE.0.get();
            c.header.num_cpu = u16::try_from(cpus.max(1)).unwrap_or(u16::MAX);
            c.qtime.boot_time = boot;
        }
        // SAFETY: the page is ours, page-aligned and a page long (`Page`); nothing else lives
        // in it. Read-only from here on, as QNX maps the system page.
        unsafe { libc::mprotect(PAGE.0.get().cast(), PAGE_SIZE, libc::PROT_READ) };
    });
    crate::set_errno(Errno(saved));
}

/// The constructor, at a priority below every unprioritised one (GNU ld sorts
/// `.init_array.NNNNN` before `.init_array`): in a program linked with `libqnxsim.a` it runs
/// before the program's own constructors; with `libqnxsim.so`, the library's constructors run
/// before the program's anyway.
#[used]
#[link_section = ".init_array.00099"]
static SYSPAGE_INIT: extern "C" fn() = syspage_init;
