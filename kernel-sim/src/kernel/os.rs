//! The bridge to Linux: signals sent to the threads that simulate kernel threads, OS
//! priorities (the opt-in mode), the CPU a thread runs on, and which program image the
//! caller is.

use crate::calls;
use crate::region::OsPriority;

/// Sends a signal (an event's, or SignalKill's) to a Linux thread (of this process, or of
/// `os_pid` in a shared kernel) with its code and value, as QNX queues them: with
/// `rt_tgsigqueueinfo`, so that both arrive in the handler's `siginfo_t`.
///
/// Linux queues a non-negative code (SignalKill's SI_USER) or SI_TKILL only to the calling
/// thread (EPERM otherwise). To another thread of this process whose handler is the library's
/// trampoline, such a signal goes under [`crate::signals::CARRIED_CODE`], which the trampoline
/// turns back into the code given; to a thread of another program, or one whose handler was
/// installed behind the library's back, it goes with `tgkill`: its handler sees SI_TKILL and
/// no value (docs/deviations.md, "Signals"). A process-directed SignalKill to another program
/// (`to_process`), or to this program's own process of a shared kernel (`own`), goes to its
/// Linux process (`kill`, or `rt_sigqueueinfo` for a queued code), which Linux gives to a
/// thread that does not block the signal.
pub(super) fn send_signal(sig: &calls::event::SignalOut, own: bool) {
    let local = crate::copy::Space(sig.os_pid).is_local();
    let tgid = if local {
        std::process::id() as i32
    } else {
        sig.os_pid
    };
    // A process-directed signal to another program, or to this program's own process of a
    // shared kernel (`own`), goes to the Linux process, which picks a thread that does not
    // block it; one to a simulated process of this program goes to its thread.
    let whole = sig.to_process && (!local || own);
    let mut carried = false;
    if sig.code >= 0 || sig.code == crate::abi::consts::SI_TKILL {
        let to_self = local && sig.os_tid == nix::unistd::gettid().as_raw();
        carried = local && !to_self && crate::signals::carried_to_handler(sig.signo);
        if !to_self && !carried {
            // SAFETY: plain integer arguments.
            unsafe {
                if whole {
                    libc::kill(tgid, sig.signo);
                } else {
                    libc::syscall(libc::SYS_tgkill, tgid, sig.os_tid, sig.signo);
                }
            }
            return;
        }
    }
    // SAFETY: an all-zero siginfo_t is valid; we fill the fields of the SI_QUEUE layout (which
    // SI_USER's shares: si_pid, si_uid, then the value, which Linux keeps as given).
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig.signo;
    info.si_code = if carried {
        crate::signals::CARRIED_CODE
    } else {
        sig.code
    };
    let raw = &mut info as *mut libc::siginfo_t as *mut u8;
    // SAFETY: on Linux the SI_QUEUE fields are si_pid (i32) at 16, si_uid (u32) at 20 and
    // si_value (8 bytes) at 24, and a carried signal's mark and code at CARRIED_AT (32) and
    // 36, all inside the 128-byte siginfo_t we own.
    unsafe {
        (raw.add(16) as *mut i32).write_unaligned(libc::getpid());
        (raw.add(20) as *mut u32).write_unaligned(libc::getuid());
        (raw.add(24) as *mut u64).write_unaligned(sig.value);
        if carried {
            let at = crate::signals::CARRIED_AT;
            (raw.add(at) as *mut u32).write_unaligned(crate::signals::CARRIED_MARK);
            (raw.add(at + 4) as *mut i32).write_unaligned(sig.code);
        }
    }
    // SAFETY: plain syscall arguments; `info` lives across the call.
    unsafe {
        if whole {
            libc::syscall(
                libc::SYS_rt_sigqueueinfo,
                tgid,
                sig.signo,
                &info as *const libc::siginfo_t,
            );
        } else {
            libc::syscall(
                libc::SYS_rt_tgsigqueueinfo,
                tgid,
                sig.os_tid,
                sig.signo,
                &info as *const libc::siginfo_t,
            );
        }
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::send_signal;
    use crate::abi::consts::{SI_TKILL, SI_USER};
    use crate::calls::event::SignalOut;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
    use std::sync::mpsc;

    /// A signal no other test of the crate handles.
    const SIG: i32 = 61;
    static CODE: AtomicI32 = AtomicI32::new(i32::MAX);
    static VALUE: AtomicU64 = AtomicU64::new(u64::MAX);
    static SEEN: AtomicI32 = AtomicI32::new(0);

    extern "C" fn handler(_: i32, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: an SA_SIGINFO handler's siginfo_t; the value is at byte 24.
        unsafe {
            CODE.store((*info).si_code, Ordering::SeqCst);
            VALUE.store(
                info.cast::<u8>().add(24).cast::<u64>().read_unaligned(),
                Ordering::SeqCst,
            );
        }
        SEEN.fetch_add(1, Ordering::SeqCst);
    }

    fn out(os_tid: i32, code: i32, value: u64) -> SignalOut {
        SignalOut {
            proc: crate::pool::Id::new(0, 0),
            pid: 1,
            os_tid,
            os_pid: 0,
            signo: SIG,
            code,
            value,
            to_process: false,
        }
    }

    /// Sends `sig` and waits for the handler; returns the code and value it saw.
    fn sent(sig: SignalOut) -> (i32, u64) {
        let before = SEEN.load(Ordering::SeqCst);
        send_signal(&sig, false);
        for _ in 0..2000 {
            if SEEN.load(Ordering::SeqCst) != before {
                return (CODE.load(Ordering::SeqCst), VALUE.load(Ordering::SeqCst));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("the signal never arrived");
    }

    #[test]
    fn the_handler_sees_the_code_and_value_given_si_user_and_si_tkill_too() {
        // SAFETY: a zeroed sigaction is valid; the handler is installed through the crate's
        // `sigaction` (the trampoline stands in for it), as a program's would be.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler as *const () as usize;
            act.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut act.sa_mask);
            assert_eq!(libc::sigaction(SIG, &act, std::ptr::null_mut()), 0);
        }
        // Another thread of the process: SI_USER and SI_TKILL go under the carrier code,
        // which the trampoline turns back.
        let (tx, rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            tx.send(nix::unistd::gettid().as_raw()).unwrap();
            let _ = stop_rx.recv();
        });
        let other = rx.recv().unwrap();
        assert_eq!(sent(out(other, SI_USER, 5)), (SI_USER, 5));
        assert_eq!(sent(out(other, SI_TKILL, 6)), (SI_TKILL, 6));
        assert_eq!(sent(out(other, -70, 7)), (-70, 7));
        // The calling thread: Linux takes SI_USER as it is.
        let me = nix::unistd::gettid().as_raw();
        assert_eq!(sent(out(me, SI_USER, 8)), (SI_USER, 8));
        stop_tx.send(()).unwrap();
        t.join().unwrap();
    }
}
