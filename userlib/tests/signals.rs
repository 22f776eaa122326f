//! Signals as QNX programs use them: handlers that make kernel calls, and which blocked calls a
//! signal interrupts (docs/deviations.md, "Signals"). Each test uses its own real-time signal
//! and aims it at one thread, so tests running side by side do not mix.

mod support;

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::qnx::*;
use userlib::{Errno, Process, ThreadState};

fn rt(n: i32) -> i32 {
    libc::SIGRTMIN() + n
}

/// Installs `h` for `signo` through `sigaction` (as any program does; it reaches the kernel
/// library's `sigaction` first).
fn install(signo: i32, h: extern "C" fn(i32), flags: i32) {
    // SAFETY: a zeroed sigaction is valid; we fill the handler, flags and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = h as *const () as usize;
        sa.sa_flags = flags;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
}

/// Sends `signo` to Linux thread `tid` of this process.
fn tgkill(tid: i32, signo: i32) {
    // SAFETY: plain integers.
    unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, signo) };
}

// ------------------------------------------------------------------ handlers making kernel calls

static STORM_COID: AtomicI32 = AtomicI32::new(-1);
static STORM_SENT: AtomicU32 = AtomicU32::new(0);
static STORM_FAILED: AtomicU32 = AtomicU32::new(0);

extern "C" fn storm_handler(_: i32) {
    match msg_send_pulse(STORM_COID.load(Ordering::SeqCst), 10, 7, 0) {
        Ok(()) => STORM_SENT.fetch_add(1, Ordering::SeqCst),
        Err(_) => STORM_FAILED.fetch_add(1, Ordering::SeqCst),
    };
}

#[test]
fn a_handler_may_make_kernel_calls_even_when_its_signal_lands_inside_the_kernel() {
    let signo = rt(1);
    install(signo, storm_handler, libc::SA_RESTART);
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        // Its own channel; the handler pulses it from this very thread.
        let chid = channel_create(0).unwrap();
        let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        STORM_COID.store(coid, Ordering::SeqCst);
        tx.send(os_tid()).unwrap();
        let mut from_handler = 0u32;
        let mut buf = [0u8; 64];
        // Kernel entries back to back: most signals land inside one (lock held or blocked).
        for _ in 0..20_000 {
            msg_send_pulse(coid, 10, 1, 0).unwrap();
            loop {
                match msg_receive(chid, &mut buf, None) {
                    Ok(0) if Pulse::from_bytes(&buf).unwrap().code == 7 => from_handler += 1,
                    Ok(0) => break,
                    Ok(r) => panic!("a message? {r}"),
                    Err(Errno::EINTR) => continue,
                    Err(e) => panic!("receive: {e}"),
                }
            }
        }
        // The handler's pulses still queued.
        loop {
            timer_timeout(1, _NTO_TIMEOUT_RECEIVE, None).unwrap();
            match msg_receive(chid, &mut buf, None) {
                Ok(0) => from_handler += 1,
                Err(Errno::ETIMEDOUT) => break,
                Err(Errno::EINTR) => continue,
                other => panic!("{other:?}"),
            }
        }
        from_handler
    });
    let tid = rx.recv_timeout(DEADLINE).unwrap();
    let mut sent = 0u32;
    while !worker.is_finished() {
        tgkill(tid, signo);
        sent += 1;
        std::thread::sleep(Duration::from_micros(20));
    }
    let from_handler = join(worker);
    assert!(
        sent > 100,
        "the storm was too small to mean anything ({sent})"
    );
    assert_eq!(
        STORM_FAILED.load(Ordering::SeqCst),
        0,
        "a handler's call failed"
    );
    let ran = STORM_SENT.load(Ordering::SeqCst);
    assert!(ran > 0, "no handler ran");
    // Every pulse a handler sent was received, minus those of handlers run after the last drain.
    assert!(
        from_handler <= ran && ran - from_handler <= 1,
        "handlers sent {ran}, the loop received {from_handler}"
    );
}

static TIMER_COID: AtomicI32 = AtomicI32::new(-1);
static TIMER_RUNS: AtomicU32 = AtomicU32::new(0);

extern "C" fn timer_handler(_: i32) {
    TIMER_RUNS.fetch_add(1, Ordering::SeqCst);
    let _ = msg_send_pulse(TIMER_COID.load(Ordering::SeqCst), 10, 9, 0);
}

#[test]
fn a_sigev_signal_timers_handler_pulses_the_receive_loop_of_its_own_thread() {
    // The common QNX pattern: a timer signals the thread, whose handler pulses its channel.
    let signo = rt(2);
    install(signo, timer_handler, 0);
    let pulses = join(std::thread::spawn(move || {
        let chid = channel_create(0).unwrap();
        let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        TIMER_COID.store(coid, Ordering::SeqCst);
        let ev = userlib::SigEvent::signal_thread(signo, 0, -1);
        let id = timer_create(1, Some(&ev)).unwrap();
        timer_settime(id, 0, 1_000_000, 1_000_000).unwrap();
        let mut buf = [0u8; 64];
        let mut pulses = 0;
        let t0 = Instant::now();
        while pulses < 30 && t0.elapsed() < Duration::from_secs(10) {
            timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(1_000_000_000)).unwrap();
            match msg_receive(chid, &mut buf, None) {
                Ok(0) => pulses += 1,
                Err(Errno::EINTR) | Err(Errno::ETIMEDOUT) => {}
                other => panic!("{other:?}"),
            }
        }
        timer_destroy(id).unwrap();
        pulses
    }));
    assert_eq!(pulses, 30);
    assert!(TIMER_RUNS.load(Ordering::SeqCst) >= 30);
}

// ------------------------------------------------------------------ what a signal interrupts

static HANDLED: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];

extern "C" fn count_handler(sig: i32) {
    let i = (sig - libc::SIGRTMIN()) as usize;
    if i < HANDLED.len() {
        HANDLED[i].fetch_add(1, Ordering::SeqCst);
    }
}

/// A server process with a channel (its thread is the caller of `f`'s setup) and a client
/// process: runs `client` in a client thread and gives the test its Linux tid and kernel tid.
struct Pair {
    server: Process,
    client: Process,
}

fn pair() -> Pair {
    let k = kernel();
    Pair {
        server: process(&k),
        client: process(&k),
    }
}

#[test]
fn a_signal_interrupts_a_receive_blocked_thread_with_eintr_after_its_handler_ran() {
    let signo = rt(3);
    install(signo, count_handler, libc::SA_RESTART);
    let p = pair();
    let (tx, rx) = mpsc::channel();
    let h = p
        .server
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            tx.send((os_tid(), gettid().unwrap())).unwrap();
            let mut buf = [0u8; 64];
            let r = msg_receive(chid, &mut buf, None);
            (r, HANDLED[3].load(Ordering::SeqCst))
        })
        .unwrap();
    let (os, tid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.server.kernel().clone();
    wait_state(&k, p.server.pid(), tid, |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    tgkill(os, signo);
    // EINTR even though the handler asked for SA_RESTART (QNX's kernel calls never restart),
    // and the handler had run by the time the call returned.
    assert_eq!(join(h), (Err(Errno::EINTR), 1));
}

#[test]
fn a_signal_interrupts_a_send_blocked_client_with_eintr_and_the_server_never_sees_it() {
    let signo = rt(4);
    install(signo, count_handler, 0);
    let p = pair();
    let (chid, spid) = (p.server.kernel().clone(), p.server.pid());
    let _ = chid;
    let (ctx, crx) = mpsc::channel();
    let srv = p
        .server
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            ctx.send(chid).unwrap();
            chid
        })
        .unwrap();
    let chid = crx.recv_timeout(DEADLINE).unwrap();
    let _ = join(srv);
    let (tx, rx) = mpsc::channel();
    let h = p
        .client
        .spawn(move || {
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            tx.send((os_tid(), gettid().unwrap())).unwrap();
            let mut r = [0u8; 8];
            msg_send(coid, b"hello", &mut r)
        })
        .unwrap();
    let (os, tid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.client.kernel().clone();
    wait_state(&k, p.client.pid(), tid, |s| {
        matches!(s, ThreadState::Send { .. })
    });
    tgkill(os, signo);
    assert_eq!(join(h), Err(Errno::EINTR));
    assert_eq!(HANDLED[4].load(Ordering::SeqCst), 1);
    // Nothing is left queued for the server.
    let snap = k.snapshot();
    let ch = snap
        .channels
        .iter()
        .find(|c| c.pid == spid && c.chid == chid)
        .unwrap();
    assert_eq!(ch.queued, 0);
}

/// A client REPLY-blocked on a channel made with `flags`; the server holds its message; the
/// client is signalled. Returns what the client's MsgSend returned, what the server's reply
/// returned, and the pulse the server got (if any) before replying.
fn signal_reply_blocked(n: i32, flags: u32) -> (KResultI64, Result<(), Errno>, Option<i8>) {
    let signo = rt(n);
    install(signo, count_handler, 0);
    let p = pair();
    let spid = p.server.pid();
    let (ctx, crx) = mpsc::channel();
    let (rtx, rrx) = mpsc::channel::<()>();
    let srv = p
        .server
        .spawn(move || {
            let chid = channel_create(flags).unwrap();
            ctx.send(chid).unwrap();
            let mut buf = [0u8; 64];
            let rcvid = msg_receive(chid, &mut buf, None).unwrap();
            rtx.send(()).unwrap();
            // Any unblock pulse, within a moment.
            timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(200_000_000)).unwrap();
            let pulse = match msg_receive(chid, &mut buf, None) {
                Ok(0) => Some(Pulse::from_bytes(&buf).unwrap()),
                _ => None,
            };
            if let Some(p) = pulse {
                assert_eq!(p.value_long(), rcvid, "the unblock pulse names the rcvid");
            }
            (msg_reply(rcvid, 5, b"ok"), pulse.map(|p| p.code))
        })
        .unwrap();
    let chid = crx.recv_timeout(DEADLINE).unwrap();
    let (tx, rx) = mpsc::channel();
    let h = p
        .client
        .spawn(move || {
            let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            tx.send((os_tid(), gettid().unwrap())).unwrap();
            let mut r = [0u8; 8];
            msg_send(coid, b"hello", &mut r)
        })
        .unwrap();
    let (os, tid) = rx.recv_timeout(DEADLINE).unwrap();
    rrx.recv_timeout(DEADLINE).unwrap();
    let k = p.client.kernel().clone();
    wait_state(&k, p.client.pid(), tid, |s| {
        matches!(s, ThreadState::Reply { .. })
    });
    tgkill(os, signo);
    let (reply, pulse) = join(srv);
    let sent = join(h);
    assert_eq!(HANDLED[n as usize].load(Ordering::SeqCst), 1);
    (sent, reply, pulse)
}

type KResultI64 = Result<i64, Errno>;

#[test]
fn a_signal_interrupts_a_reply_blocked_client_with_eintr_on_a_channel_without_unblock() {
    let (sent, reply, pulse) = signal_reply_blocked(5, 0);
    assert_eq!(sent, Err(Errno::EINTR));
    assert_eq!(reply, Err(Errno::ESRCH), "the late reply finds no client");
    assert_eq!(pulse, None);
}

#[test]
fn a_signalled_reply_blocked_client_on_an_unblock_channel_waits_for_the_servers_answer() {
    let (sent, reply, pulse) = signal_reply_blocked(6, _NTO_CHF_UNBLOCK);
    assert_eq!(pulse, Some(_PULSE_CODE_UNBLOCK));
    assert_eq!(reply, Ok(()));
    assert_eq!(sent, Ok(5), "the server's answer stands");
}

// ------------------------------------------------------------------ no message lost

static STORM2: AtomicU64 = AtomicU64::new(0);

extern "C" fn storm2_handler(_: i32) {
    STORM2.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn a_signal_storm_on_server_and_clients_loses_and_duplicates_no_message() {
    let signo = rt(7);
    install(signo, storm2_handler, libc::SA_RESTART);
    const CLIENTS: u32 = 3;
    const EACH: u32 = 1500;
    let p = pair();
    let spid = p.server.pid();
    let (ctx, crx) = mpsc::channel();
    let (ttx, trx) = mpsc::channel::<i32>();
    let ttx2 = ttx.clone();
    let srv = p
        .server
        .spawn(move || {
            let chid = channel_create(_NTO_CHF_UNBLOCK).unwrap();
            ctx.send(chid).unwrap();
            ttx2.send(os_tid()).unwrap();
            let mut seen = vec![0u32; (CLIENTS * EACH) as usize];
            let mut buf = [0u8; 8];
            let mut got = 0;
            while got < CLIENTS * EACH {
                match msg_receive(chid, &mut buf, None) {
                    Ok(0) => {} // an unblock pulse: the reply below answers it anyway
                    Ok(rcvid) => {
                        let n = u32::from_ne_bytes(buf[..4].try_into().unwrap());
                        seen[n as usize] += 1;
                        got += 1;
                        msg_reply(rcvid, n as i64, b"").unwrap();
                    }
                    Err(Errno::EINTR) => {}
                    Err(e) => panic!("server: {e}"),
                }
            }
            seen
        })
        .unwrap();
    let chid = crx.recv_timeout(DEADLINE).unwrap();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let ttx = ttx.clone();
            p.client
                .spawn(move || {
                    let coid = connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
                    ttx.send(os_tid()).unwrap();
                    let mut retries = 0u32;
                    for i in 0..EACH {
                        let n = c * EACH + i;
                        loop {
                            match msg_send(coid, &n.to_ne_bytes(), &mut []) {
                                Ok(st) => {
                                    assert_eq!(st, n as i64);
                                    break;
                                }
                                // Interrupted while SEND-blocked: not delivered, send again.
                                Err(Errno::EINTR) => retries += 1,
                                Err(e) => panic!("client: {e}"),
                            }
                        }
                    }
                    retries
                })
                .unwrap()
        })
        .collect();
    drop(ttx);
    let tids: Vec<i32> = (0..=CLIENTS)
        .map(|_| trx.recv_timeout(DEADLINE).unwrap())
        .collect();
    let mut storm = 0u64;
    while !srv.is_finished() {
        for &t in &tids {
            tgkill(t, signo);
        }
        storm += 1;
        std::thread::sleep(Duration::from_micros(50));
    }
    let seen = join(srv);
    for c in clients {
        join(c);
    }
    assert!(storm > 10, "the storm was too small ({storm})");
    assert!(STORM2.load(Ordering::SeqCst) > 0);
    assert!(
        seen.iter().all(|&n| n == 1),
        "every message received exactly once: {} missing, {} twice or more",
        seen.iter().filter(|&&n| n == 0).count(),
        seen.iter().filter(|&&n| n > 1).count()
    );
}

// ------------------------------------------------------------------ behind the library's back

static RAW_RESULT: AtomicI32 = AtomicI32::new(0);

extern "C" fn raw_handler(_: i32) {
    let r = match msg_send_pulse(-1, 10, 1, 0) {
        Err(e) => e.raw(),
        Ok(()) => 0,
    };
    RAW_RESULT.store(r, Ordering::SeqCst);
}

extern "C" {
    /// The C library's own sigaction, which the kernel library's does not see.
    fn __sigaction(sig: i32, act: *const libc::sigaction, old: *mut libc::sigaction) -> i32;
}

#[test]
fn a_kernel_call_from_a_handler_installed_behind_the_librarys_back_is_edeadlk_not_a_deadlock() {
    let signo = rt(8);
    // SAFETY: as `install`, through glibc's own entry point.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = raw_handler as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(__sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    let p = pair();
    let (tx, rx) = mpsc::channel();
    let h = p
        .server
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            tx.send((os_tid(), gettid().unwrap(), chid)).unwrap();
            let mut buf = [0u8; 64];
            msg_receive(chid, &mut buf, None)
        })
        .unwrap();
    let (os, tid, chid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.server.kernel().clone();
    wait_state(&k, p.server.pid(), tid, |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    tgkill(os, signo);
    // The handler's own call is refused rather than waiting on its own thread.
    let t0 = Instant::now();
    while RAW_RESULT.load(Ordering::SeqCst) == 0 {
        assert!(t0.elapsed() < DEADLINE, "the handler never ran");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(RAW_RESULT.load(Ordering::SeqCst), Errno::EDEADLK.raw());
    // Whether the receive was interrupted depends on where the raw handler found the thread
    // (Linux ends the futex wait with EINTR; a handler that ran just before the wait began
    // leaves it waiting): a pulse ends it either way, and nothing hangs.
    let pid = p.server.pid();
    p.client
        .spawn(move || {
            let coid = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            msg_send_pulse(coid, 10, 1, 0)
        })
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    let r = join(h);
    assert!(matches!(r, Err(Errno::EINTR) | Ok(0)), "{r:?}");
}

static SELF_COID: AtomicI32 = AtomicI32::new(-1);

extern "C" fn self_pulse_handler(_: i32) {
    let _ = msg_send_pulse(SELF_COID.load(Ordering::SeqCst), 10, 11, 0);
}

#[test]
fn a_handler_that_runs_while_its_thread_is_blocked_with_a_timeout_ends_the_call_and_timeouts_still_work(
) {
    let signo = rt(10);
    install(signo, self_pulse_handler, libc::SA_RESTART);
    let p = pair();
    let (tx, rx) = mpsc::channel();
    let h = p
        .server
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            SELF_COID.store(
                connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap(),
                Ordering::SeqCst,
            );
            tx.send((os_tid(), gettid().unwrap())).unwrap();
            let mut buf = [0u8; 64];
            // A long timeout: the signal's handler (which pulses this very channel) must end
            // the call long before it, not leave it blocked forever.
            timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(30_000_000_000)).unwrap();
            let t0 = Instant::now();
            let first = msg_receive(chid, &mut buf, None);
            let took = t0.elapsed();
            // The handler's pulse is there for the next receive.
            let second = msg_receive(chid, &mut buf, None);
            let code = Pulse::from_bytes(&buf).map(|p| p.code);
            // And a timeout armed afterwards still fires.
            timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(20_000_000)).unwrap();
            let third = msg_receive(chid, &mut buf, None);
            (first, took, second, code, third)
        })
        .unwrap();
    let (os, tid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.server.kernel().clone();
    wait_state(&k, p.server.pid(), tid, |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    tgkill(os, signo);
    let (first, took, second, code, third) = join(h);
    assert_eq!(first, Err(Errno::EINTR));
    assert!(
        took < Duration::from_secs(10),
        "the call was not ended by the signal"
    );
    assert_eq!((second, code), (Ok(0), Some(11)));
    assert_eq!(third, Err(Errno::ETIMEDOUT));
}

#[test]
fn a_signal_interrupts_a_blocked_asyncmsg_get_with_eintr_and_no_message_is_lost() {
    use userlib::asyncmsg::*;
    let signo = rt(11);
    install(signo, count_handler, libc::SA_RESTART);
    let p = pair();
    let (tx, rx) = mpsc::channel();
    let (ftx, frx) = mpsc::channel();
    let (gtx, grx) = mpsc::channel::<()>();
    let h = p
        .server
        .spawn(move || {
            let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
            tx.send((os_tid(), gettid().unwrap(), chid)).unwrap();
            ftx.send(asyncmsg_get(chid).map(|b| b.len())).unwrap();
            grx.recv_timeout(DEADLINE).unwrap();
            // What the sender puts after the interruption arrives whole.
            let mut got = 0;
            while got < 3 {
                timer_timeout(1, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
                got += asyncmsg_get(chid).unwrap().len();
            }
            got
        })
        .unwrap();
    let (os, tid, chid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.server.kernel().clone();
    wait_state(&k, p.server.pid(), tid, |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    tgkill(os, signo);
    // Nothing was ready to take: the signal ends the get, after its handler ran.
    assert_eq!(frx.recv_timeout(DEADLINE).unwrap(), Err(Errno::EINTR));
    assert_eq!(HANDLED[11].load(Ordering::SeqCst), 1);
    let spid = p.server.pid();
    p.client
        .spawn(move || {
            let attr = AsyncConnAttr {
                trigger_num_msg: 3,
                ..AsyncConnAttr::default()
            };
            let coid = asyncmsg_connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0, &attr).unwrap();
            gtx.send(()).unwrap();
            for i in 0..3u8 {
                asyncmsg_put(coid, vec![i; 8], i as u32, None).unwrap();
            }
            asyncmsg_flush(coid, 0).unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(join(h), 3);
}

static UC_CALLS: AtomicU32 = AtomicU32::new(0);
static UC_NULL: AtomicU32 = AtomicU32::new(0);
static UC_SIGNO: AtomicI32 = AtomicI32::new(0);

extern "C" fn siginfo_handler(sig: i32, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    UC_CALLS.fetch_add(1, Ordering::SeqCst);
    if uc.is_null() {
        UC_NULL.fetch_add(1, Ordering::SeqCst);
    } else {
        // SAFETY: a non-null ucontext handed to an SA_SIGINFO handler is a ucontext_t; reading
        // its flags word is what a handler that inspects it would do first.
        let _flags = unsafe { (*uc.cast::<libc::ucontext_t>()).uc_flags };
    }
    let signo = if info.is_null() {
        -1
    } else {
        // SAFETY: `info` is the siginfo_t the handler was given.
        unsafe { (*info).si_signo }
    };
    UC_SIGNO.store(signo, Ordering::SeqCst);
    let _ = sig;
}

/// An SA_SIGINFO handler whose signal came while its thread was blocked in the kernel (run as
/// the thread leaves it) gets its siginfo and a valid ucontext, never a null one: a handler
/// that reads its context (as QNX handlers may) does not crash.
#[test]
fn a_deferred_sa_siginfo_handler_gets_its_siginfo_and_a_ucontext() {
    let signo = rt(12);
    // SAFETY: a zeroed sigaction is valid; we fill the handler, flags and an empty mask.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = siginfo_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(signo, &sa, std::ptr::null_mut()), 0);
    }
    let p = pair();
    let (tx, rx) = mpsc::channel();
    let h = p
        .server
        .spawn(move || {
            let chid = channel_create(0).unwrap();
            tx.send((os_tid(), gettid().unwrap())).unwrap();
            let mut buf = [0u8; 64];
            msg_receive(chid, &mut buf, None)
        })
        .unwrap();
    let (os, tid) = rx.recv_timeout(DEADLINE).unwrap();
    let k = p.server.kernel().clone();
    wait_state(&k, p.server.pid(), tid, |s| {
        matches!(s, ThreadState::Receive { .. })
    });
    tgkill(os, signo);
    assert_eq!(join(h), Err(Errno::EINTR));
    assert_eq!(UC_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(UC_NULL.load(Ordering::SeqCst), 0, "a null ucontext");
    assert_eq!(UC_SIGNO.load(Ordering::SeqCst), signo);
}
