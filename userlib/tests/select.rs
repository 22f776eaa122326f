//! `userlib::select`: `select_attach` / `select_detach` / `select_rearm` over Linux fds (pipes,
//! eventfds), the `SI_NOTIFY` pulse that reaches `dispatch_handler`, re-arming (QNX's default)
//! and `SELECT_FLAG_NOREARM`, stale pulses after a detach, the errors, the watcher thread
//! (stopped by the last detach, by `dispatch_destroy` and by dropping the handle), many fds,
//! and a thread pool serving select functions. Every block is bounded by `dispatch_timeout`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use userlib::dispatch::*;
use userlib::select::*;
use userlib::thread_pool::*;
use userlib::{Errno, Process};

const LONG: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(150);

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    assert_eq!(r, 0, "pipe2");
    // SAFETY: two fresh fds, ours alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn put(fd: &OwnedFd) {
    // SAFETY: writes 1 byte from a buffer of 1.
    let n = unsafe { libc::write(fd.as_raw_fd(), b"x".as_ptr().cast(), 1) };
    assert_eq!(n, 1, "write");
}

fn take(fd: RawFd) -> isize {
    let mut b = [0u8; 16];
    // SAFETY: reads at most 16 bytes into a buffer of 16.
    unsafe { libc::read(fd, b.as_mut_ptr().cast(), b.len()) }
}

/// What the select functions saw: (fd, flags).
type Seen = Arc<Mutex<Vec<(i32, u32)>>>;

fn recorder(seen: &Seen, ret: i32) -> impl FnMut(&mut Context, i32, u32) -> i32 + Send {
    let seen = seen.clone();
    move |ctp: &mut Context, fd, flags| {
        assert_eq!(ctp.rcvid(), 0, "a select function is called for a pulse");
        assert_eq!(ctp.pulse().unwrap().code, SI_NOTIFY);
        seen.lock().unwrap().push((fd, flags));
        ret
    }
}

/// One bounded block and handler: `Some(handler's result)`, or `None` on the timeout.
fn serve(ctp: &mut Context, within: Duration) -> Option<i32> {
    dispatch_timeout(ctp.dispatch(), Some(within)).unwrap();
    dispatch_block(ctp).unwrap();
    if ctp.rcvid() == -1 {
        return None;
    }
    Some(dispatch_handler(ctp))
}

/// The OS threads of this program named `name`.
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim_end() == name)
        .count()
}

/// Waits (bounded) until `n` threads are named `name`.
fn wait_threads(name: &str, n: usize) -> bool {
    let end = Instant::now() + LONG;
    while Instant::now() < end {
        if threads_named(name) == n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Runs `f` in a thread of a process of its own (so that its watcher's name is its own).
fn in_process(f: impl FnOnce() + Send + 'static) {
    let p = Process::new().unwrap();
    p.spawn(f).unwrap().join().unwrap();
}

#[test]
fn a_readable_pipe_calls_its_function_with_read_and_the_handler_returns_its_result() {
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    select_attach(
        &dpp,
        None,
        r.as_raw_fd(),
        SELECT_FLAG_READ,
        recorder(&seen, 7),
    )
    .unwrap();
    assert!(dpp.chid() > 0, "the first select attach makes the channel");
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    assert_eq!(serve(&mut ctp, SHORT), None, "nothing to read yet");
    put(&w);
    assert_eq!(serve(&mut ctp, LONG), Some(7));
    let p = ctp.pulse().unwrap();
    assert_eq!(p.code, SI_NOTIFY);
    assert_ne!(
        p.value as u32 & SELECT_FLAG_READ,
        0,
        "the pulse carries the condition"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(r.as_raw_fd(), SELECT_FLAG_READ)]
    );
    dispatch_destroy(&dpp).unwrap();
}

#[test]
fn a_pipes_write_end_is_writable_at_once_and_only_the_conditions_asked_are_reported() {
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    let flags = SELECT_FLAG_WRITE | SELECT_FLAG_EXCEPT;
    select_attach(&dpp, None, w.as_raw_fd(), flags, recorder(&seen, 0)).unwrap();
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    assert_eq!(serve(&mut ctp, LONG), Some(0));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(w.as_raw_fd(), SELECT_FLAG_WRITE)]
    );
    drop(r);
    drop(dpp);
}

#[test]
fn an_fd_is_armed_again_after_each_call_by_default_and_with_rearm() {
    for flags in [SELECT_FLAG_READ, SELECT_FLAG_READ | SELECT_FLAG_REARM] {
        let (r, w) = pipe();
        let dpp = dispatch_create().unwrap();
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        select_attach(
            &dpp,
            None,
            r.as_raw_fd(),
            flags,
            move |_: &mut Context, _, _| {
                c.fetch_add(1, Ordering::SeqCst);
                0
            },
        )
        .unwrap();
        let mut ctp = dispatch_context_alloc(&dpp).unwrap();
        put(&w);
        // The byte stays unread: the fd is still readable, so each re-arm fires again.
        for _ in 0..3 {
            assert_eq!(serve(&mut ctp, LONG), Some(0));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Read, it fires no more.
        assert_eq!(take(r.as_raw_fd()), 1);
        // (A pulse the watcher sent before the read may still come, once.)
        if serve(&mut ctp, SHORT).is_some() {
            assert_eq!(serve(&mut ctp, SHORT), None);
        }
        put(&w);
        assert_eq!(serve(&mut ctp, LONG), Some(0), "armed again");
        dispatch_destroy(&dpp).unwrap();
    }
}

#[test]
fn norearm_calls_once_until_select_rearm_and_wins_over_rearm() {
    let flags = SELECT_FLAG_READ | SELECT_FLAG_NOREARM | SELECT_FLAG_REARM;
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    select_attach(&dpp, None, r.as_raw_fd(), flags, recorder(&seen, 0)).unwrap();
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    put(&w);
    assert_eq!(serve(&mut ctp, LONG), Some(0));
    assert_eq!(serve(&mut ctp, SHORT), None, "not armed again");
    select_rearm(&dpp, r.as_raw_fd()).unwrap();
    assert_eq!(serve(&mut ctp, LONG), Some(0), "select_rearm armed it once");
    assert_eq!(serve(&mut ctp, SHORT), None);
    assert_eq!(seen.lock().unwrap().len(), 2);
    // select_rearm from inside the function (as QNX programs do).
    let d = dpp.clone();
    select_detach(&dpp, r.as_raw_fd()).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let rfd = r.as_raw_fd();
    select_attach(&dpp, None, rfd, flags, move |ctp: &mut Context, fd, _| {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            select_rearm(ctp.dispatch(), fd).unwrap();
        }
        0
    })
    .unwrap();
    assert_eq!(serve(&mut ctp, LONG), Some(0));
    assert_eq!(serve(&mut ctp, LONG), Some(0));
    assert_eq!(serve(&mut ctp, SHORT), None);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(select_rearm(&d, 9999), Err(Errno::EINVAL), "not attached");
    dispatch_destroy(&dpp).unwrap();
}

#[test]
fn a_detached_fd_is_not_called_and_a_pulse_for_a_reused_slot_is_dropped() {
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    select_attach(
        &dpp,
        None,
        r.as_raw_fd(),
        SELECT_FLAG_READ,
        recorder(&seen, 5),
    )
    .unwrap();
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    put(&w);
    // The pulse goes out now (waited for: on a loaded machine the watcher takes its time);
    // detached and attached again (the same slot, a new serial), the fd's queued pulse is the
    // old slot's: dropped (0), the function not called.
    let (k, pid) = (
        userlib::current::default_kernel().unwrap(),
        userlib::current::default_pid().unwrap(),
    );
    let until = Instant::now() + LONG;
    while !k
        .snapshot()
        .channels
        .iter()
        .any(|c| c.pid == pid && c.chid == dpp.chid() && c.queued > 0)
    {
        assert!(Instant::now() < until, "the fd's pulse never came");
        std::thread::sleep(Duration::from_millis(5));
    }
    select_detach(&dpp, r.as_raw_fd()).unwrap();
    select_attach(
        &dpp,
        None,
        r.as_raw_fd(),
        SELECT_FLAG_READ,
        recorder(&seen, 6),
    )
    .unwrap();
    assert_eq!(serve(&mut ctp, LONG), Some(0), "the stale pulse");
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(serve(&mut ctp, LONG), Some(6), "the new slot's");
    select_detach(&dpp, r.as_raw_fd()).unwrap();
    put(&w);
    // (The fd was armed again after the call: a pulse sent before the detach is dropped.)
    let mut res = serve(&mut ctp, SHORT);
    for _ in 0..3 {
        if res != Some(0) {
            break;
        }
        res = serve(&mut ctp, SHORT);
    }
    assert_eq!(res, None, "detached: not called");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(select_detach(&dpp, r.as_raw_fd()), Err(Errno::EINVAL));
    dispatch_destroy(&dpp).unwrap();
}

#[test]
fn errors() {
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let f = |_: &mut Context, _, _| 0;
    let rfd = r.as_raw_fd();
    assert_eq!(
        select_detach(&dpp, rfd),
        Err(Errno::EINVAL),
        "nothing attached ever"
    );
    assert_eq!(select_rearm(&dpp, rfd), Err(Errno::EINVAL));
    for flags in [
        0,
        SELECT_FLAG_REARM,
        SELECT_FLAG_NOREARM,
        SELECT_FLAG_READ | 0x8,
    ] {
        assert_eq!(
            select_attach(&dpp, None, rfd, flags, f),
            Err(Errno::EINVAL),
            "{flags:#x}"
        );
    }
    assert_eq!(
        select_attach(&dpp, None, -1, SELECT_FLAG_READ, f),
        Err(Errno::EINVAL)
    );
    let attr = SelectAttr { flags: 1 };
    assert_eq!(
        select_attach(&dpp, Some(&attr), rfd, SELECT_FLAG_READ, f),
        Err(Errno::EINVAL)
    );
    assert_eq!(dpp.chid(), -1, "a refused attach makes no channel");
    // An fd number not open.
    assert_eq!(
        select_attach(&dpp, None, 1_000_000, SELECT_FLAG_READ, f),
        Err(Errno::EBADF)
    );
    // A regular file: epoll cannot watch it.
    let file = std::fs::File::open("/proc/self/exe").unwrap();
    assert_eq!(
        select_attach(&dpp, None, file.as_raw_fd(), SELECT_FLAG_READ, f),
        Err(Errno::EPERM)
    );
    select_attach(&dpp, None, rfd, SELECT_FLAG_READ, f).unwrap();
    assert_eq!(
        select_attach(&dpp, None, rfd, SELECT_FLAG_WRITE, f),
        Err(Errno::EBUSY),
        "attached already"
    );
    select_attach(&dpp, None, w.as_raw_fd(), SELECT_FLAG_WRITE, f).unwrap();
    assert_eq!(select_detach(&dpp, 12345), Err(Errno::EINVAL));
    dispatch_destroy(&dpp).unwrap();
    assert_eq!(
        select_attach(&dpp, None, rfd, SELECT_FLAG_READ, f),
        Err(Errno::EINVAL)
    );
    assert_eq!(select_detach(&dpp, rfd), Err(Errno::EINVAL));
}

#[test]
fn an_fd_closed_without_detach_can_be_attached_again_by_its_number() {
    let (r, w) = pipe();
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    let n = r.as_raw_fd();
    select_attach(&dpp, None, n, SELECT_FLAG_READ, recorder(&seen, 1)).unwrap();
    drop(r);
    drop(w);
    // Another pipe may get the number: its attach takes the stale slot over.
    let (r2, w2) = pipe();
    let m = r2.as_raw_fd();
    select_attach(&dpp, None, m, SELECT_FLAG_READ, recorder(&seen, 2)).unwrap();
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    put(&w2);
    assert_eq!(serve(&mut ctp, LONG), Some(2));
    if m != n {
        select_detach(&dpp, n).unwrap();
    }
    select_detach(&dpp, m).unwrap();
    dispatch_destroy(&dpp).unwrap();
}

#[test]
fn the_watcher_thread_runs_while_an_fd_is_attached_and_goes_with_the_handle() {
    in_process(|| {
        let (r, w) = pipe();
        let dpp = dispatch_create().unwrap();
        select_attach(
            &dpp,
            None,
            r.as_raw_fd(),
            SELECT_FLAG_READ,
            |_: &mut Context, _, _| 0,
        )
        .unwrap();
        let state = dpp.engine().extension_if::<SelectState>().unwrap();
        let name = state.thread_name();
        assert!(state.watching());
        assert!(wait_threads(&name, 1), "the watcher runs");
        // The last detach stops it; the next attach starts it again.
        select_detach(&dpp, r.as_raw_fd()).unwrap();
        assert!(!state.watching());
        assert!(wait_threads(&name, 0), "stopped by the last detach");
        select_attach(
            &dpp,
            None,
            w.as_raw_fd(),
            SELECT_FLAG_WRITE,
            |_: &mut Context, _, _| 3,
        )
        .unwrap();
        assert!(wait_threads(&name, 1), "started again");
        let mut ctp = dispatch_context_alloc(&dpp).unwrap();
        assert_eq!(serve(&mut ctp, LONG), Some(3));
        let weak = Arc::downgrade(&state);
        drop(state);
        dispatch_destroy(&dpp).unwrap();
        assert!(wait_threads(&name, 0), "destroy stops the watcher");
        assert_eq!(
            weak.strong_count(),
            0,
            "and frees the state (the epoll set closed)"
        );
    });
}

#[test]
fn dropping_the_handle_stops_the_watcher() {
    in_process(|| {
        let (r, _w) = pipe();
        let dpp = dispatch_create().unwrap();
        select_attach(
            &dpp,
            None,
            r.as_raw_fd(),
            SELECT_FLAG_READ,
            |_: &mut Context, _, _| 0,
        )
        .unwrap();
        let state = dpp.engine().extension_if::<SelectState>().unwrap();
        let name = state.thread_name();
        let weak = Arc::downgrade(&state);
        drop(state);
        assert!(wait_threads(&name, 1));
        drop(dpp);
        assert!(wait_threads(&name, 0), "the drop stops the watcher");
        assert_eq!(weak.strong_count(), 0);
    });
}

#[test]
fn many_fds_each_called_once_for_its_byte() {
    const N: usize = 64;
    let dpp = dispatch_create().unwrap();
    let seen = Seen::default();
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..N).map(|_| pipe()).collect();
    for (r, _) in &pipes {
        let s = seen.clone();
        select_attach(
            &dpp,
            None,
            r.as_raw_fd(),
            SELECT_FLAG_READ,
            move |_: &mut Context, fd, fl| {
                assert_eq!(take(fd), 1, "the function reads its byte");
                s.lock().unwrap().push((fd, fl));
                0
            },
        )
        .unwrap();
    }
    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
    for (_, w) in &pipes {
        put(w);
    }
    for _ in 0..N {
        assert_eq!(serve(&mut ctp, LONG), Some(0));
    }
    assert_eq!(serve(&mut ctp, SHORT), None);
    let mut got: Vec<i32> = seen.lock().unwrap().iter().map(|(fd, _)| *fd).collect();
    got.sort_unstable();
    let mut want: Vec<i32> = pipes.iter().map(|(r, _)| r.as_raw_fd()).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    for (r, _) in &pipes {
        select_detach(&dpp, r.as_raw_fd()).unwrap();
    }
    dispatch_destroy(&dpp).unwrap();
}

#[test]
fn a_thread_pool_serves_select_functions_alongside_messages() {
    const N: usize = 16;
    let dpp = dispatch_create().unwrap();
    let count = Arc::new(AtomicU32::new(0));
    let pipes: Vec<(OwnedFd, OwnedFd)> = (0..N).map(|_| pipe()).collect();
    for (r, _) in &pipes {
        let c = count.clone();
        select_attach_shared(
            &dpp,
            None,
            r.as_raw_fd(),
            SELECT_FLAG_READ,
            move |_, fd, _| {
                if take(fd) == 1 {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                0
            },
        )
        .unwrap();
    }
    let mut a = ThreadPoolAttr::new(DispatchPool::new(&dpp));
    (a.lo_water, a.hi_water, a.increment, a.maximum) = (2, 4, 1, 4);
    let pool = thread_pool_create(a, 0).unwrap();
    thread_pool_start(&pool).unwrap();
    for (_, w) in &pipes {
        put(w);
    }
    let end = Instant::now() + LONG;
    while count.load(Ordering::SeqCst) < N as u32 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(count.load(Ordering::SeqCst), N as u32);
    thread_pool_destroy(&pool).unwrap();
    dispatch_destroy(&dpp).unwrap();
}
