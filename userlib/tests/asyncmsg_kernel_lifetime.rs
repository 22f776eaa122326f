//! A kernel used for asyncmsg is freed once its processes and handles are dropped: the
//! library keeps no reference of its own beyond its thread, which ends with its process.
//!
//! What shows that a kernel was freed: its timer service thread (`qnx-sim-timers`, started by
//! the first timer of the kernel, which asyncmsg's library makes) ends when the kernel's last
//! handle goes. Its own test binary, and one test at a time, so that the timer service threads
//! seen here are the tests' own.

mod support;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;

/// One test at a time: each tells its kernel's timer service thread from the others by
/// looking at which one appeared.
static SERIAL: Mutex<()> = Mutex::new(());

/// The Linux tids of this program's timer service threads.
fn timer_services() -> HashSet<i32> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|e| {
            let e = e.ok()?;
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            (comm.trim_end() == "qnx-sim-timers")
                .then(|| e.file_name().to_str()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// Runs `use_kernel` on a fresh kernel, drops the kernel, and checks that its timer service
/// thread ends (the kernel was freed).
fn check_freed(use_kernel: impl FnOnce(userlib::Kernel)) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let before = timer_services();
    let k = kernel();
    let probe = k.clone();
    use_kernel(k);
    let mut ours = HashSet::new();
    wait_until("the kernel's timer service to start", || {
        ours = &timer_services() - &before;
        !ours.is_empty()
    });
    assert_eq!(ours.len(), 1, "one new timer service: {ours:?}");
    drop(probe);
    wait_until(
        "the kernel to be freed (its timer service thread to end)",
        || timer_services().is_disjoint(&ours),
    );
}

#[test]
fn a_kernel_used_for_asyncmsg_is_freed_once_its_processes_and_handles_are_dropped() {
    check_freed(|k| {
        let (recv, send) = (process(&k), process(&k));
        let _b = bind(&recv);
        let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
        let rpid = recv.pid();
        let rec = Recorder::default();
        let mut a = attr(2, Duration::from_millis(5), 8);
        a.call_back = Some(rec.callback());
        run_in(&send, move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..3 {
                put(coid, encode(0, i), i);
            }
            // Left attached: the process's exit detaches it.
        });
        take(chid, 3);
        rec.wait(3);
    });
}

#[test]
fn a_kernel_is_freed_even_after_an_asyncmsg_callback_panicked() {
    check_freed(|k| {
        let (recv, send) = (process(&k), process(&k));
        let _b = bind(&recv);
        let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
        let rpid = recv.pid();
        let mut a = attr(1, Duration::from_millis(50), 8);
        let called = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = called.clone();
        a.call_back = Some(std::sync::Arc::new(move |_, _, _| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            panic!("deliberate")
        }));
        run_in(&send, move || {
            let coid = connect(rpid, chid, 0, &a);
            put(coid, encode(0, 0), 0);
        });
        take(chid, 1);
        wait_until("the panicking callback", || {
            called.load(std::sync::atomic::Ordering::SeqCst)
        });
    });
}
