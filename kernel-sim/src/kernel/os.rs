//! The bridge to Linux: signals sent to the threads that simulate kernel threads, OS
//! priorities (the opt-in mode), the CPU a thread runs on, and which program image the
//! caller is.

use crate::calls;
use crate::region::OsPriority;

/// Sends an event's signal to a Linux thread (of this process, or of `os_pid` in a shared
/// kernel): with `rt_tgsigqueueinfo`, so
/// the value and code arrive in the handler's `siginfo_t`, for the negative codes Linux lets a
/// program queue; with `tgkill` otherwise (a `kill()`'s SI_USER arrives as SI_TKILL).
pub(super) fn send_signal(sig: &calls::event::SignalOut) {
    let tgid = if sig.os_pid != 0 {
        sig.os_pid
    } else {
        std::process::id() as i32
    };
    if sig.code >= 0 || sig.code == crate::abi::consts::SI_TKILL {
        // SAFETY: plain integer arguments.
        unsafe {
            libc::syscall(libc::SYS_tgkill, tgid, sig.os_tid, sig.signo);
        }
        return;
    }
    // SAFETY: an all-zero siginfo_t is valid; we fill the fields of the SI_QUEUE layout.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig.signo;
    info.si_code = sig.code;
    let raw = &mut info as *mut libc::siginfo_t as *mut u8;
    // SAFETY: on Linux the SI_QUEUE fields are si_pid (i32) at 16, si_uid (u32) at 20 and
    // si_value (8 bytes) at 24, all inside the 128-byte siginfo_t we own.
    unsafe {
        (raw.add(16) as *mut i32).write_unaligned(libc::getpid());
        (raw.add(20) as *mut u32).write_unaligned(libc::getuid());
        (raw.add(24) as *mut u64).write_unaligned(sig.value);
    }
    // SAFETY: plain syscall arguments; `info` lives across the call.
    unsafe {
        libc::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            tgid,
            sig.os_tid,
            sig.signo,
            &info as *const libc::siginfo_t,
        );
    }
}

pub(super) fn apply_os_priority(mode: OsPriority, tid: i32, prio: u8) {
    // Failures (no CAP_SYS_NICE, thread gone) leave the Linux thread as it was: the emulated
    // priority stays authoritative. See docs/design.md, "Priorities".
    match mode {
        OsPriority::Off => {}
        OsPriority::Nice => {
            let nice = (10 - prio as i32).clamp(-20, 19);
            // SAFETY: setpriority takes plain integers and touches no memory of ours.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice);
            }
        }
        OsPriority::Fifo => {
            let p = libc::sched_param {
                sched_priority: (prio as i32).min(99),
            };
            // SAFETY: `p` is a valid sched_param for the duration of the call.
            unsafe {
                libc::sched_setscheduler(tid, libc::SCHED_FIFO, &p);
            }
        }
    }
}

/// The CPU the calling thread runs on (-1 if unknown).
pub(super) fn current_cpu() -> i32 {
    // Under loom every model thread is taken to run on a CPU of its own, so that the models
    // explore the spin-then-sleep hand-off of waiters whose waker runs elsewhere.
    #[cfg(loom)]
    {
        static NEXT: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
        loom::thread_local! {
            static CPU: i32 = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0xffff;
        }
        CPU.with(|c| *c)
    }
    #[cfg(not(loom))]
    {
        // SAFETY: sched_getcpu has no preconditions.
        unsafe { libc::sched_getcpu() }
    }
}

/// Which program image the calling Linux process is: 64 bits of the random bytes Linux gives
/// every program at `execve` (`AT_RANDOM`), so an image that `exec` replaced, with the same
/// pid, has another (as has a later program that reuses the pid); a forked child keeps its
/// parent's, beside a pid of its own. Never 0 (0 stands for "no image" in the tables).
#[cfg(not(loom))]
pub(crate) fn image_tag() -> u64 {
    static TAG: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TAG.get_or_init(|| {
        // SAFETY: getauxval has no preconditions; AT_RANDOM's value, when Linux gives one, is
        // the address of 16 bytes that live as long as the program.
        let at = unsafe { libc::getauxval(libc::AT_RANDOM) } as *const u8;
        let tag = if at.is_null() {
            // (No AT_RANDOM: the clock at the first use stands in for it.)
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        } else {
            // SAFETY: `at` points at 16 readable bytes (above); any alignment is read.
            unsafe { at.cast::<u64>().read_unaligned() }
        };
        tag.max(1)
    })
}
