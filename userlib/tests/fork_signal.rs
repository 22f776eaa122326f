//! fork() while a signal whose handler makes kernel calls arrives during the fork: the handler
//! must not run while the forking thread holds the kernel's locks (it would wait for its own
//! thread). A fork handler of the test's, registered before the kernel's and so run after the
//! kernel's prepare handler (prepare handlers run in reverse order), sends the signal at the
//! worst moment. One test in its own binary: it registers its fork handler first.

mod support;

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::qnx::*;

static COID: AtomicI32 = AtomicI32::new(-1);
static RAN: AtomicU32 = AtomicU32::new(0);
static SIGNO: AtomicI32 = AtomicI32::new(0);

extern "C" fn handler(_: i32) {
    // A kernel call from the handler: in the parent it pulses the test's channel; in the child
    // the parent's coid names nothing (a fresh process), and the call fails at once.
    let _ = msg_send_pulse(COID.load(Ordering::SeqCst), 10, 5, 0);
    RAN.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn signal_myself_while_forking() {
    let signo = SIGNO.load(Ordering::SeqCst);
    if signo != 0 {
        // SAFETY: plain integers.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), signo) };
    }
}

#[test]
fn a_signal_whose_handler_makes_kernel_calls_arriving_during_fork_does_not_deadlock_it() {
    // SAFETY: registering a plain function, before any kernel exists.
    unsafe { libc::pthread_atfork(Some(signal_myself_while_forking), None, None) };
    let signo = libc::SIGRTMIN() + 1;
    // SAFETY: a zeroed sigaction with our handler and an empty mask is valid.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    // The kernel (and its fork handlers) come after the test's.
    let chid = channel_create(0).unwrap();
    COID.store(
        connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap(),
        Ordering::SeqCst,
    );
    SIGNO.store(signo, Ordering::SeqCst);
    // The fork runs in a thread of its own, so that a deadlock fails the test instead of
    // hanging it.
    let forker = std::thread::spawn(|| {
        // SAFETY: the child only leaves with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: leave the child at once.
            unsafe { libc::_exit(0) };
        }
        pid
    });
    let t0 = Instant::now();
    while !forker.is_finished() {
        assert!(t0.elapsed() < DEADLINE, "fork deadlocked");
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = forker.join().unwrap();
    SIGNO.store(0, Ordering::SeqCst);
    assert!(pid > 0);
    let mut status = 0;
    let t0 = Instant::now();
    loop {
        // SAFETY: waitpid writes only `status`.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if t0.elapsed() > DEADLINE {
            // SAFETY: plain integers.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child hung");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    // The parent's handler ran once the fork was done, and its pulse arrived.
    assert_eq!(RAN.load(Ordering::SeqCst), 1);
    timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(msg_receive(chid, &mut buf, None), Ok(0));
    assert_eq!(Pulse::from_bytes(&buf).map(|p| p.code), Some(5));
}
