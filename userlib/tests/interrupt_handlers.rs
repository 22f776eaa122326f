//! InterruptAttach's handlers, from outside (userlib::interrupt): a handler runs in its
//! process's interrupt service thread with its level masked (a raise meanwhile is latched and
//! runs it again after), its event reaches the attaching thread, None wakes nobody, a panic
//! does not end the service thread, a handler may attach and detach (it may make any call,
//! userlib documents), detach while it runs, two processes' handlers in one program, the
//! service thread ends with its process, and a bounded stress run whose counts must agree.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::interrupt::*;
use userlib::{Errno, Kernel, SigEvent, ThreadState};

/// InterruptWait bounded by `ns` (TimerTimeout with `_NTO_TIMEOUT_INTR`).
fn wait_for_intr(ns: u64) -> Result<(), Errno> {
    userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, Some(ns))?;
    interrupt_wait(0)
}

/// The mask count of `level`, as its attachments show it (0 if it has none).
fn level_mask(k: &Kernel, level: u32) -> u32 {
    k.snapshot()
        .interrupts
        .iter()
        .find(|i| i.level == level)
        .map_or(0, |i| i.level_mask)
}

/// (mask count, a request pending) of `level` (it must have an attachment).
fn level_state(k: &Kernel, level: u32) -> (u32, bool) {
    let s = k.snapshot();
    let i = s
        .interrupts
        .iter()
        .find(|i| i.level == level)
        .unwrap_or_else(|| panic!("no attachment on level {level}"));
    (i.level_mask, i.level_pending)
}

/// The library's threads of process `pid` (its interrupt service thread).
fn internal_threads(k: &Kernel, pid: i32) -> usize {
    k.snapshot()
        .threads
        .iter()
        .filter(|t| t.pid == pid && t.internal)
        .count()
}

#[test]
fn a_handler_runs_with_its_level_masked_and_a_raise_meanwhile_runs_it_again_after() {
    let k = kernel();
    let p = process(&k);
    let runs = Arc::new(AtomicU32::new(0));
    let (inside_tx, inside_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let r2 = runs.clone();
    let id = run_in(&p, move || {
        interrupt_attach(
            70,
            move |_| {
                if r2.fetch_add(1, Ordering::SeqCst) == 0 {
                    inside_tx.send(()).unwrap();
                    let _ = go_rx.lock().unwrap().recv_timeout(DEADLINE);
                }
                None
            },
            _NTO_INTR_FLAGS_PROCESS,
        )
    })
    .unwrap();
    assert_eq!(k.interrupt_raise(70), Ok(1));
    inside_rx.recv_timeout(DEADLINE).expect("the handler ran");
    assert_eq!(level_mask(&k, 70), 1, "masked while the handler runs");
    assert_eq!(k.interrupt_raise(70), Ok(0), "latched");
    assert_eq!(k.interrupt_raise(70), Ok(0), "latched (one request)");
    assert_eq!(level_state(&k, 70), (1, true));
    go_tx.send(()).unwrap();
    wait_until("the latched request to run the handler again", || {
        runs.load(Ordering::SeqCst) == 2 && level_mask(&k, 70) == 0
    });
    std::thread::sleep(SHORT);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "two raises latched made one run"
    );
    run_in(&p, move || interrupt_detach(id)).unwrap();
}

#[test]
fn the_handlers_event_reaches_the_attaching_thread_and_no_sibling() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let id = interrupt_attach(71, |_| Some(SigEvent::intr()), 0).unwrap();
    let sibling = p.spawn(|| wait_for_intr(SHORT.as_nanos() as u64)).unwrap();
    assert_eq!(k.interrupt_raise(71), Ok(1));
    assert_eq!(wait_for_intr(LONG_NS), Ok(()), "the attacher is woken");
    assert_eq!(join(sibling), Err(Errno::ETIMEDOUT), "the sibling is not");
    wait_until("level unmasked after the run", || level_mask(&k, 71) == 0);
    interrupt_detach(id).unwrap();
}

#[test]
fn a_pulse_returned_by_a_handler_reaches_the_process() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let (chid, coid) = userlib::current::with_current(|c| {
        let chid = c.channel_create(0)?;
        Ok((chid, c.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0)?))
    })
    .unwrap();
    let id = interrupt_attach(72, move |_| Some(SigEvent::pulse(coid, 12, 5, 505)), 0).unwrap();
    assert_eq!(k.interrupt_raise(72), Ok(1));
    let mut buf = [0u8; 64];
    userlib::qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
    let rcvid = userlib::current::with_current(|c| c.msg_receive(chid, &mut buf, None)).unwrap();
    assert_eq!(rcvid, 0, "a pulse");
    let pl = userlib::Pulse::from_bytes(&buf).unwrap();
    assert_eq!((pl.code, pl.value_int()), (5, 505));
    interrupt_detach(id).unwrap();
}

#[test]
fn a_handler_returning_none_wakes_nobody() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let runs = Arc::new(AtomicU32::new(0));
    let r2 = runs.clone();
    let id = interrupt_attach(
        73,
        move |_| {
            r2.fetch_add(1, Ordering::SeqCst);
            None
        },
        0,
    )
    .unwrap();
    assert_eq!(k.interrupt_raise(73), Ok(1));
    wait_until("the handler ran and the level is unmasked", || {
        runs.load(Ordering::SeqCst) == 1 && level_mask(&k, 73) == 0
    });
    assert_eq!(
        wait_for_intr(SHORT.as_nanos() as u64),
        Err(Errno::ETIMEDOUT)
    );
    interrupt_detach(id).unwrap();
}

#[test]
fn a_panicking_handler_does_not_end_the_service_thread() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let runs = Arc::new(AtomicU32::new(0));
    let r2 = runs.clone();
    let id = interrupt_attach(
        74,
        move |_| {
            if r2.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("a handler's bug");
            }
            Some(SigEvent::intr())
        },
        0,
    )
    .unwrap();
    assert_eq!(k.interrupt_raise(74), Ok(1));
    wait_until("the panicking run to end and unmask", || {
        runs.load(Ordering::SeqCst) == 1 && level_mask(&k, 74) == 0
    });
    assert_eq!(
        wait_for_intr(SHORT.as_nanos() as u64),
        Err(Errno::ETIMEDOUT),
        "no event"
    );
    assert_eq!(internal_threads(&k, p.pid()), 1, "the service thread lives");
    assert_eq!(k.interrupt_raise(74), Ok(1));
    assert_eq!(wait_for_intr(LONG_NS), Ok(()), "the next run's event comes");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    interrupt_detach(id).unwrap();
}

/// A handler may make any call (userlib's documentation): one that attaches a second handler
/// on its first run and detaches it on its second. What it attaches is its process's.
#[test]
fn a_handler_may_attach_and_detach_another_attachment_of_its_process() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let inner_runs = Arc::new(AtomicU32::new(0));
    let other: Arc<Mutex<Option<Result<i32, Errno>>>> = Arc::default();
    let detached: Arc<Mutex<Option<Result<(), Errno>>>> = Arc::default();
    let (ir, o2, d2) = (inner_runs.clone(), other.clone(), detached.clone());
    let id = interrupt_attach(
        75,
        move |_| {
            let mut o = o2.lock().unwrap();
            match *o {
                None => {
                    let ir = ir.clone();
                    *o = Some(interrupt_attach(
                        76,
                        move |_| {
                            ir.fetch_add(1, Ordering::SeqCst);
                            None
                        },
                        0,
                    ));
                }
                Some(Ok(inner)) => *d2.lock().unwrap() = Some(interrupt_detach(inner)),
                Some(Err(_)) => {}
            }
            None
        },
        0,
    )
    .unwrap();
    k.interrupt_raise(75).unwrap();
    wait_until("the handler attached", || other.lock().unwrap().is_some());
    let inner = other
        .lock()
        .unwrap()
        .unwrap()
        .expect("attach from a handler");
    let listed = k.snapshot().interrupts;
    let i = listed.iter().find(|i| i.id == inner && i.level == 76);
    assert_eq!(
        i.map(|i| i.pid),
        Some(p.pid()),
        "attached in its process: {listed:?}"
    );
    assert_eq!(k.interrupt_raise(76), Ok(1));
    wait_until("the inner handler ran", || {
        inner_runs.load(Ordering::SeqCst) == 1
    });
    wait_until("level 75 unmasked", || level_mask(&k, 75) == 0);
    k.interrupt_raise(75).unwrap();
    wait_until("the handler detached", || {
        detached.lock().unwrap().is_some()
    });
    assert_eq!(*detached.lock().unwrap(), Some(Ok(())));
    assert_eq!(k.interrupt_raise(76), Ok(0), "nothing on level 76 now");
    interrupt_detach(id).unwrap();
}

/// Drops are counted: the handler's closure owns one.
struct DropCount(Arc<AtomicU32>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn detach_while_the_handler_runs_gives_the_mask_back_and_drops_the_handler_after_the_run() {
    let k = kernel();
    let p = process(&k);
    let _b = bind(&p);
    let drops = Arc::new(AtomicU32::new(0));
    let guard = DropCount(drops.clone());
    let runs = Arc::new(AtomicU32::new(0));
    let (inside_tx, inside_rx) = mpsc::channel::<()>();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let r2 = runs.clone();
    let id = interrupt_attach(
        77,
        move |_| {
            let _g = &guard;
            r2.fetch_add(1, Ordering::SeqCst);
            inside_tx.send(()).unwrap();
            let _ = go_rx.lock().unwrap().recv_timeout(DEADLINE);
            Some(SigEvent::intr())
        },
        0,
    )
    .unwrap();
    assert_eq!(k.interrupt_raise(77), Ok(1));
    inside_rx.recv_timeout(DEADLINE).expect("the handler ran");
    assert_eq!(level_mask(&k, 77), 1);
    interrupt_detach(id).unwrap();
    assert_eq!(k.pool_usage().interrupts.live, 0, "detached while it runs");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "not dropped under its own feet"
    );
    // The level's mask for the run was given back at detach.
    assert_eq!(interrupt_mask(77, -1), Ok(1));
    assert_eq!(interrupt_unmask(77, -1), Ok(0));
    go_tx.send(()).unwrap();
    wait_until("the handler dropped once its run ended", || {
        drops.load(Ordering::SeqCst) == 1
    });
    assert_eq!(k.interrupt_raise(77), Ok(0), "no attachment");
    std::thread::sleep(SHORT);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "never run again");
    assert_eq!(
        interrupt_mask(77, -1),
        Ok(1),
        "the late done unmasked nothing"
    );
    assert_eq!(interrupt_unmask(77, -1), Ok(0));
}

#[test]
fn handlers_of_two_processes_in_one_program_each_run_in_their_own_service_thread() {
    let k = kernel();
    let (p1, p2) = (process(&k), process(&k));
    let counts: Arc<[AtomicU32; 2]> = Arc::new([AtomicU32::new(0), AtomicU32::new(0)]);
    let mut ids = Vec::new();
    for (n, p) in [&p1, &p2].into_iter().enumerate() {
        let c = counts.clone();
        let id = run_in(p, move || {
            interrupt_attach(
                78,
                move |_| {
                    c[n].fetch_add(1, Ordering::SeqCst);
                    None
                },
                _NTO_INTR_FLAGS_PROCESS,
            )
        })
        .unwrap();
        ids.push(id);
    }
    assert_eq!(internal_threads(&k, p1.pid()), 1);
    assert_eq!(internal_threads(&k, p2.pid()), 1);
    assert_eq!(k.interrupt_raise(78), Ok(2), "a shared level: both");
    wait_until("both handlers ran and the level is unmasked", || {
        counts[0].load(Ordering::SeqCst) == 1
            && counts[1].load(Ordering::SeqCst) == 1
            && level_mask(&k, 78) == 0
    });
    assert_eq!(k.interrupt_raise(78), Ok(2));
    wait_until("both ran twice", || {
        counts[0].load(Ordering::SeqCst) == 2 && counts[1].load(Ordering::SeqCst) == 2
    });
    let (a, b) = (ids[0], ids[1]);
    run_in(&p1, move || interrupt_detach(a)).unwrap();
    run_in(&p2, move || interrupt_detach(b)).unwrap();
    // Another process's id is not ours.
    assert_eq!(run_in(&p1, move || interrupt_detach(b)), Err(Errno::EINVAL));
}

#[test]
fn the_service_thread_ends_with_its_process() {
    let k = kernel();
    let baseline = k.pool_usage();
    let p = process(&k);
    let pid = p.pid();
    let id = run_in(&p, || {
        interrupt_attach(79, |_| None, _NTO_INTR_FLAGS_PROCESS)
    })
    .unwrap();
    assert!(id > 0);
    assert_eq!(internal_threads(&k, pid), 1, "a service thread started");
    let svc = k
        .snapshot()
        .threads
        .iter()
        .find(|t| t.pid == pid && t.internal)
        .map(|t| t.tid)
        .unwrap();
    wait_state(&k, pid, svc, |s| *s == ThreadState::Intr);
    // A second handler shares it.
    let id2 = run_in(&p, || {
        interrupt_attach(80, |_| None, _NTO_INTR_FLAGS_PROCESS)
    })
    .unwrap();
    assert!(id2 > 0);
    assert_eq!(
        internal_threads(&k, pid),
        1,
        "one service thread per process"
    );
    drop(p);
    wait_until("the pools back where they were", || {
        k.pool_usage() == baseline
    });
    assert_eq!(k.pool_usage().interrupts.live, 0);
    // A new process gets a new service thread.
    let p = process(&k);
    let id = run_in(&p, || {
        interrupt_attach(79, |_| Some(SigEvent::intr()), _NTO_INTR_FLAGS_PROCESS)
    })
    .unwrap();
    assert!(id > 0);
    assert_eq!(internal_threads(&k, p.pid()), 1);
    drop(p);
    wait_until("the pools back again", || k.pool_usage() == baseline);
}

// ------------------------------------------------------------------ stress

/// Four raiser threads raise levels 90..94 at random for about 2 s. Each level has a handler
/// of process A counting its runs; levels 90 and 92 have a handler of process B too, and level
/// 93 an event attachment (SIGEV_INTR) of a driver thread of B that waits and unmasks, counting
/// its waits. Afterwards every level is unmasked with nothing pending, each attachment's runs
/// (or waits) equal the deliveries the kernel counted for it, each level's raises equal the
/// raises made, and tearing both processes down brings every pool back.
#[test]
fn stress_random_raises_on_several_levels_keep_every_count_consistent() {
    const LEVELS: [i32; 4] = [90, 91, 92, 93];
    let k = kernel();
    let baseline = k.pool_usage();
    let (pa, pb) = (process(&k), process(&k));
    let runs: Arc<Vec<AtomicU64>> = Arc::new((0..8).map(|_| AtomicU64::new(0)).collect());
    // (attachment id, its run counter index)
    let mut handlers: Vec<(i32, usize)> = Vec::new();
    for (n, &l) in LEVELS.iter().enumerate() {
        let r = runs.clone();
        let id = run_in(&pa, move || {
            interrupt_attach(
                l,
                move |_| {
                    r[n].fetch_add(1, Ordering::SeqCst);
                    None
                },
                _NTO_INTR_FLAGS_PROCESS,
            )
        })
        .unwrap();
        handlers.push((id, n));
    }
    for (n, l) in [(4usize, 90), (5, 92)] {
        let r = runs.clone();
        let id = run_in(&pb, move || {
            interrupt_attach(
                l,
                move |_| {
                    r[n].fetch_add(1, Ordering::SeqCst);
                    None
                },
                _NTO_INTR_FLAGS_END | _NTO_INTR_FLAGS_PROCESS,
            )
        })
        .unwrap();
        handlers.push((id, n));
    }
    // The driver: waits, unmasks, counts.
    let stop = Arc::new(AtomicBool::new(false));
    let waits = Arc::new(AtomicU64::new(0));
    let (id_tx, id_rx) = mpsc::channel();
    let (st, wt) = (stop.clone(), waits.clone());
    let driver = pb
        .spawn(move || {
            let id =
                interrupt_attach_event(93, &SigEvent::intr(), _NTO_INTR_FLAGS_PROCESS).unwrap();
            id_tx.send(id).unwrap();
            let mut bad = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match wait_for_intr(20_000_000) {
                    Ok(()) => {
                        wt.fetch_add(1, Ordering::SeqCst);
                        if let Err(e) = interrupt_unmask(93, id) {
                            bad.push(format!("unmask {e:?}"));
                        }
                    }
                    Err(Errno::ETIMEDOUT) => {}
                    Err(e) => bad.push(format!("wait {e:?}")),
                }
            }
            (id, bad)
        })
        .unwrap();
    let driver_id = id_rx.recv_timeout(DEADLINE).unwrap();
    // The raisers.
    let raised: Arc<Vec<AtomicU64>> = Arc::new(LEVELS.iter().map(|_| AtomicU64::new(0)).collect());
    let until = Instant::now() + Duration::from_secs(2);
    let raisers: Vec<_> = (0..4u64)
        .map(|s| {
            let (k, raised) = (k.clone(), raised.clone());
            std::thread::spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ s;
                let mut errs = 0;
                while Instant::now() < until {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let n = (x % LEVELS.len() as u64) as usize;
                    match k.interrupt_raise(LEVELS[n]) {
                        Ok(_) => {
                            raised[n].fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => errs += 1,
                    }
                    if x.is_multiple_of(8) {
                        std::thread::yield_now();
                    }
                }
                errs
            })
        })
        .collect();
    for r in raisers {
        assert_eq!(join(r), 0, "a raise failed");
    }
    wait_until("every level unmasked with nothing pending", || {
        let s = k.snapshot();
        s.interrupts
            .iter()
            .all(|i| i.level_mask == 0 && !i.level_pending)
    });
    stop.store(true, Ordering::SeqCst);
    let (_, bad) = join(driver);
    assert!(bad.is_empty(), "{bad:?}");
    let s = k.snapshot();
    for (n, &l) in LEVELS.iter().enumerate() {
        let one = s.interrupts.iter().find(|i| i.level == l as u32).unwrap();
        assert_eq!(
            one.level_raised,
            raised[n].load(Ordering::SeqCst),
            "level {l}: every raise counted"
        );
    }
    for (id, n) in &handlers {
        let i = s.interrupts.iter().find(|i| i.id == *id).unwrap();
        assert_eq!(
            runs[*n].load(Ordering::SeqCst),
            i.delivered,
            "attachment {id} on level {}: every delivery run once",
            i.level
        );
        assert!(i.delivered > 0, "level {} was delivered", i.level);
    }
    let d = s.interrupts.iter().find(|i| i.id == driver_id).unwrap();
    assert_eq!(
        waits.load(Ordering::SeqCst),
        d.delivered,
        "the driver woke once per delivery"
    );
    // Shared levels went to both attachments, as often.
    for l in [90u32, 92] {
        let on: Vec<u64> = s
            .interrupts
            .iter()
            .filter(|i| i.level == l)
            .map(|i| i.delivered)
            .collect();
        assert_eq!(on.len(), 2);
        assert_eq!(
            on[0], on[1],
            "level {l}: both attachments got every delivery"
        );
    }
    drop((pa, pb));
    wait_until("the pools back to their baseline", || {
        k.pool_usage() == baseline
    });
}

#[test]
fn a_handler_whose_attachment_ended_with_its_thread_is_dropped_at_the_next_attach() {
    let k = kernel();
    let p = process(&k);
    let token = Arc::new(());
    let t = token.clone();
    // Without _NTO_INTR_FLAGS_PROCESS: the attachment ends with the thread that made it.
    let id = run_in(&p, move || {
        interrupt_attach(
            96,
            move |_| {
                let _ = &t;
                None
            },
            0,
        )
    })
    .unwrap();
    assert!(id > 0);
    assert_eq!(
        Arc::strong_count(&token),
        2,
        "the handler holds its closure"
    );
    let id2 = run_in(&p, || {
        interrupt_attach(97, |_| None, _NTO_INTR_FLAGS_PROCESS)
    })
    .unwrap();
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the ended attachment's handler is gone"
    );
    run_in(&p, move || interrupt_detach(id2)).unwrap();
}
