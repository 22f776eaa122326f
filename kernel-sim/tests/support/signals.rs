//! A recorder for real Linux signals: an SA_SIGINFO handler for the real-time signals that
//! notes each delivery (count, and the last si_code, si_value and handling Linux tid), for
//! tests of events and timers that signal a thread.

use super::DEADLINE;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Per real-time signal (index = signo - SIGRTMIN): deliveries, and the last si_code,
/// si_value.sival_int and handling Linux tid.
const SLOTS: usize = 16;
static SIG_COUNT: [AtomicU32; SLOTS] = [const { AtomicU32::new(0) }; SLOTS];
static SIG_CODE: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
static SIG_VALUE: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static SIG_TID: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

/// What the handler recorded for one signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigRecord {
    /// Deliveries so far.
    pub count: u32,
    /// Last `si_code`.
    pub code: i32,
    /// Last `si_value.sival_int`.
    pub value: i32,
    /// Linux tid of the thread that ran the handler last.
    pub tid: i32,
}

extern "C" fn record_signal(signo: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let slot = (signo - libc::SIGRTMIN()) as usize;
    if slot >= SLOTS || info.is_null() {
        return;
    }
    // SAFETY: the kernel hands an SA_SIGINFO handler a valid siginfo_t (128 bytes); on Linux
    // si_code is at offset 8 and the SI_QUEUE si_value at offset 24.
    let (code, value) = unsafe {
        let raw = info as *const u8;
        (
            (raw.add(8) as *const i32).read_unaligned(),
            (raw.add(24) as *const u64).read_unaligned(),
        )
    };
    // SAFETY: gettid is async-signal-safe and takes no arguments.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
    SIG_CODE[slot].store(code, Ordering::SeqCst);
    SIG_VALUE[slot].store(value, Ordering::SeqCst);
    SIG_TID[slot].store(tid, Ordering::SeqCst);
    SIG_COUNT[slot].fetch_add(1, Ordering::SeqCst);
}

/// Installs the recording SA_SIGINFO handler for real-time signal `SIGRTMIN + n` and returns
/// its number. Each test uses its own `n`, so tests running in parallel do not mix.
pub fn install_rt_handler(n: i32) -> i32 {
    assert!((0..SLOTS as i32).contains(&n));
    let signo = libc::SIGRTMIN() + n;
    assert!(signo <= libc::SIGRTMAX());
    // SAFETY: an all-zero sigaction is a valid starting point; we set the handler, flags and
    // an empty mask before passing it to sigaction, which only reads it.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = record_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    signo
}

/// What the handler recorded for `signo`.
pub fn sig_record(signo: i32) -> SigRecord {
    let slot = (signo - libc::SIGRTMIN()) as usize;
    SigRecord {
        count: SIG_COUNT[slot].load(Ordering::SeqCst),
        code: SIG_CODE[slot].load(Ordering::SeqCst),
        value: SIG_VALUE[slot].load(Ordering::SeqCst) as u32 as i32,
        tid: SIG_TID[slot].load(Ordering::SeqCst),
    }
}

/// Waits (bounded) until `signo` has been delivered at least `n` times.
pub fn wait_signal(signo: i32, n: u32) -> SigRecord {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let r = sig_record(signo);
        if r.count >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "signal {signo} not delivered: {r:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
