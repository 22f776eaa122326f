//! The kernel crate's `sigaction` and `signal` (signals.rs): a program sees its own handlers,
//! flags and masks, and the C library's behaviour in every other case. Each test uses its own
//! signal numbers. Each test first makes a kernel, as any program of the kernel's does.

mod support;

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, Ordering};
use support::{Config, Kernel};

extern "C" {
    /// glibc's own sigaction, which the kernel crate's forwards to.
    fn __sigaction(sig: i32, act: *const libc::sigaction, old: *mut libc::sigaction) -> i32;
}

static RUNS: AtomicU32 = AtomicU32::new(0);

extern "C" fn plain(_: i32) {
    RUNS.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn other(_: i32) {}

/// A kernel, as the programs that link the kernel crate make one.
fn uses_the_kernel() -> Kernel {
    Kernel::new(Config::small()).unwrap()
}

fn zeroed() -> libc::sigaction {
    // SAFETY: an all-zero sigaction is valid.
    unsafe { MaybeUninit::zeroed().assume_init() }
}

fn query(sig: i32) -> libc::sigaction {
    let mut old = zeroed();
    // SAFETY: a query into our own buffer.
    let r = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(r, 0);
    old
}

fn glibc_query(sig: i32) -> libc::sigaction {
    let mut old = zeroed();
    // SAFETY: a query into our own buffer.
    let r = unsafe { __sigaction(sig, std::ptr::null(), &mut old) };
    assert_eq!(r, 0);
    old
}

fn is_member(set: &libc::sigset_t, sig: i32) -> bool {
    // SAFETY: reading a valid set.
    unsafe { libc::sigismember(set, sig) == 1 }
}

fn signal(sig: i32, handler: usize) -> usize {
    // SAFETY: installs a plain handler (or refuses a bad number without effect).
    unsafe { libc::signal(sig, handler) }
}

fn set(sig: i32, handler: usize, flags: i32, mask_with: &[i32]) -> libc::sigaction {
    let mut act = zeroed();
    act.sa_sigaction = handler;
    act.sa_flags = flags;
    let mut old = zeroed();
    // SAFETY: valid structures; sigemptyset/sigaddset write our own set.
    unsafe {
        libc::sigemptyset(&mut act.sa_mask);
        for &m in mask_with {
            libc::sigaddset(&mut act.sa_mask, m);
        }
        assert_eq!(libc::sigaction(sig, &act, &mut old), 0);
    }
    old
}

#[test]
fn a_program_reads_back_its_own_handler_flags_and_mask_while_the_trampoline_stands_in() {
    let _k = uses_the_kernel();
    let sig = libc::SIGRTMIN() + 1;
    let h = plain as *const () as usize;
    set(sig, h, libc::SA_RESTART, &[libc::SIGUSR2]);
    let seen = query(sig);
    assert_eq!(seen.sa_sigaction, h);
    assert_eq!(
        seen.sa_flags & (libc::SA_RESTART | libc::SA_SIGINFO),
        libc::SA_RESTART
    );
    assert!(is_member(&seen.sa_mask, libc::SIGUSR2));
    // glibc holds something else: the trampoline, with SA_SIGINFO.
    let real = glibc_query(sig);
    assert_ne!(real.sa_sigaction, h);
    assert_ne!(real.sa_flags & libc::SA_SIGINFO, 0);
    // Replacing it reports the old one.
    let old = set(sig, other as *const () as usize, 0, &[]);
    assert_eq!(old.sa_sigaction, h);
    // The handler still runs, outside any kernel call.
    let before = RUNS.load(Ordering::SeqCst);
    set(sig, h, 0, &[]);
    // SAFETY: plain integers.
    unsafe { libc::raise(sig) };
    assert_eq!(RUNS.load(Ordering::SeqCst), before + 1);
}

#[test]
fn sig_ign_and_sig_dfl_go_to_the_c_library_unchanged() {
    let _k = uses_the_kernel();
    let sig = libc::SIGRTMIN() + 2;
    set(sig, other as *const () as usize, 0, &[]);
    set(sig, libc::SIG_IGN, 0, &[]);
    assert_eq!(query(sig).sa_sigaction, libc::SIG_IGN);
    assert_eq!(glibc_query(sig).sa_sigaction, libc::SIG_IGN);
    set(sig, libc::SIG_DFL, 0, &[]);
    assert_eq!(glibc_query(sig).sa_sigaction, libc::SIG_DFL);
}

#[test]
fn synchronous_signals_are_never_wrapped() {
    let _k = uses_the_kernel();
    // SIGSEGV and friends must reach the program's handler directly (a fault inside a kernel
    // call cannot wait for the call to end). std's own stack-overflow handler lives here too.
    let before = query(libc::SIGTRAP);
    set(libc::SIGTRAP, other as *const () as usize, 0, &[]);
    assert_eq!(
        glibc_query(libc::SIGTRAP).sa_sigaction,
        other as *const () as usize
    );
    // SAFETY: restoring what was there.
    unsafe { libc::sigaction(libc::SIGTRAP, &before, std::ptr::null_mut()) };
}

#[test]
fn signal_returns_the_previous_handler_and_keeps_bsd_semantics() {
    let _k = uses_the_kernel();
    let sig = libc::SIGRTMIN() + 3;
    let first = signal(sig, plain as *const () as usize);
    assert_eq!(first, libc::SIG_DFL);
    let second = signal(sig, other as *const () as usize);
    assert_eq!(second, plain as *const () as usize);
    let seen = query(sig);
    assert_eq!(seen.sa_sigaction, other as *const () as usize);
    assert_ne!(
        seen.sa_flags & libc::SA_RESTART,
        0,
        "BSD signal(): SA_RESTART"
    );
    // SAFETY: reading our own set.
    assert_eq!(unsafe { libc::sigismember(&seen.sa_mask, sig) }, 1);
    // Bad signal numbers fail as the C library's do.
    assert_eq!(signal(0, other as *const () as usize), libc::SIG_ERR);
    assert_eq!(signal(99, other as *const () as usize), libc::SIG_ERR);
}

#[test]
fn sigaction_with_the_same_structure_for_old_and_new_installs_the_new_one() {
    let _k = uses_the_kernel();
    let sig = libc::SIGRTMIN() + 4;
    set(sig, plain as *const () as usize, 0, &[]);
    let mut io = zeroed();
    io.sa_sigaction = other as *const () as usize;
    let p = &mut io as *mut libc::sigaction;
    // SAFETY: one valid structure for both.
    let r = unsafe { libc::sigaction(sig, p, p) };
    assert_eq!(r, 0);
    assert_eq!(
        io.sa_sigaction, plain as *const () as usize,
        "the old action"
    );
    assert_eq!(
        query(sig).sa_sigaction,
        other as *const () as usize,
        "the new one"
    );
}

#[test]
fn signal_with_sig_err_is_refused_with_einval() {
    let _k = uses_the_kernel();
    let sig = libc::SIGRTMIN() + 5;
    assert_eq!(signal(sig, libc::SIG_ERR), libc::SIG_ERR);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EINVAL)
    );
    assert_eq!(query(sig).sa_sigaction, libc::SIG_DFL);
}
