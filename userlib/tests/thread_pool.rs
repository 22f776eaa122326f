//! QNX's thread pools (`userlib::thread_pool`) driving dispatch contexts: the first `lo_water`
//! threads RECEIVE-blocked on the dispatch channel (seen in the kernel's snapshot), growth by
//! `increment` while clients keep the threads in their handlers, the shrink back to `hi_water`,
//! `maximum`, destroy (every thread unblocked and joined), `POOL_FLAG_USE_SELF` and
//! `POOL_FLAG_EXIT_SELF`, `thread_pool_control`/`thread_pool_limits`, the error function,
//! `tid_name`, and every EINVAL. Every wait is bounded; the tests assert on states reached,
//! never on durations.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use support::*;
use userlib::consts::*;
use userlib::dispatch::*;
use userlib::qnx::*;
use userlib::thread_pool::*;
use userlib::{Errno, Kernel, ThreadState};

/// The threads of `pid` RECEIVE-blocked on `chid`.
fn receive_blocked(k: &Kernel, pid: i32, chid: i32) -> usize {
    k.snapshot()
        .threads
        .iter()
        .filter(|t| t.pid == pid && t.state == ThreadState::Receive { chid })
        .count()
}

/// The threads of `pid`.
fn threads_of(k: &Kernel, pid: i32) -> usize {
    k.snapshot().threads.iter().filter(|t| t.pid == pid).count()
}

fn typed(ty: u16) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[..2].copy_from_slice(&ty.to_ne_bytes());
    m
}

/// A gate the handlers wait at (bounded), and how many are inside.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cond: Condvar,
    inside: AtomicU32,
}

impl Gate {
    fn pass(&self) {
        self.inside.fetch_add(1, Ordering::SeqCst);
        let open = self.open.lock().unwrap();
        let (open, _) = self
            .cond
            .wait_timeout_while(open, DEADLINE, |o| !*o)
            .unwrap();
        assert!(*open, "the gate never opened");
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cond.notify_all();
    }

    fn inside(&self) -> u32 {
        self.inside.load(Ordering::SeqCst)
    }
}

/// A dispatch handle whose messages 0x200 wait at `gate` and are answered with their value.
fn gated_dispatch(gate: &Arc<Gate>) -> Dispatch {
    let d = dispatch_create().unwrap();
    let g = gate.clone();
    message_attach_shared(&d, None, 0x200, 0x200, move |ctp, _, _| {
        g.pass();
        let v = i32::from_ne_bytes(ctp.msg()[4..8].try_into().unwrap());
        ctp.reply(i64::from(v), &[]).map_or(-1, |()| 0)
    })
    .unwrap();
    d
}

fn attr(d: &Dispatch, lo: u16, hi: u16, inc: u16, max: u16) -> ThreadPoolAttr<DispatchPool> {
    let mut a = ThreadPoolAttr::new(DispatchPool::new(d));
    (a.lo_water, a.hi_water, a.increment, a.maximum) = (lo, hi, inc, max);
    a
}

/// `n` clients in processes of their own, each sending one 0x200 with its index (bounded).
fn clients(
    k: &Kernel,
    n: usize,
    pid: i32,
    chid: i32,
) -> Vec<(
    userlib::Process,
    std::thread::JoinHandle<Result<i64, Errno>>,
)> {
    (0..n)
        .map(|i| {
            let c = process(k);
            let h = c
                .spawn(move || {
                    let coid = connect_attach(0, pid, chid, 0, 0)?;
                    let mut m = typed(0x200);
                    m[4..8].copy_from_slice(&(i as i32).to_ne_bytes());
                    timer_timeout(
                        CLOCK_MONOTONIC,
                        _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                        Some(LONG_NS),
                    )?;
                    msg_send(coid, &m, &mut [])
                })
                .unwrap();
            (c, h)
        })
        .collect()
}

#[test]
fn start_makes_lo_water_threads_receive_blocked_and_destroy_joins_them() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let kk = k.clone();
    run_in(&p, move || {
        let gate = Arc::new(Gate::default());
        let d = gated_dispatch(&gate);
        let chid = d.chid();
        let tpp = thread_pool_create(attr(&d, 2, 4, 1, 50), 0).unwrap();
        assert_eq!((tpp.created(), tpp.waiting()), (0, 0));
        thread_pool_start(&tpp).unwrap();
        wait_until("two pool threads RECEIVE-blocked on the channel", || {
            receive_blocked(&kk, pid, chid) == 2
        });
        assert_eq!((tpp.created(), tpp.waiting()), (2, 2));
        // (This thread and the two.)
        assert_eq!(threads_of(&kk, pid), 3);
        assert_eq!(thread_pool_start(&tpp), Err(Errno::EBUSY));
        thread_pool_destroy(&tpp).unwrap();
        assert_eq!((tpp.created(), tpp.waiting()), (0, 0));
        assert_eq!(receive_blocked(&kk, pid, chid), 0);
        assert_eq!(threads_of(&kk, pid), 1);
        assert_eq!(thread_pool_destroy(&tpp), Err(Errno::EINVAL));
        assert_eq!(thread_pool_start(&tpp), Err(Errno::EINVAL));
        // The handle still works without its pool.
        let mut ctp = dispatch_context_alloc(&d).unwrap();
        dispatch_timeout(&d, Some(SHORT)).unwrap();
        dispatch_block(&mut ctp).unwrap();
        dispatch_destroy(&d).unwrap();
    });
}

#[test]
fn twenty_clients_grow_the_pool_by_increment_and_it_shrinks_back_to_hi_water() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let (d, tpp) = run_in(&p, move || {
        let d = gated_dispatch(&g);
        let tpp = thread_pool_create(attr(&d, 2, 4, 1, 50), 0).unwrap();
        thread_pool_start(&tpp).unwrap();
        (d, tpp)
    });
    let chid = d.chid();
    let cs = clients(&k, 20, pid, chid);
    // Every client in a handler, and lo_water more threads blocked for the next: the pool
    // grew one thread at a time as each blocked thread took a message.
    wait_until("20 handlers busy and 2 threads blocked", || {
        gate.inside() == 20 && tpp.waiting() == 2 && receive_blocked(&k, pid, chid) == 2
    });
    assert_eq!(tpp.created(), 22);
    gate.open();
    // Each handler's thread then blocks again until hi_water are blocked; the rest leave.
    wait_until("the pool back to hi_water threads, all blocked", || {
        tpp.created() == 4 && tpp.waiting() == 4 && receive_blocked(&k, pid, chid) == 4
    });
    for (i, (c, h)) in cs.into_iter().enumerate() {
        assert_eq!(join(h), Ok(i as i64));
        drop(c);
    }
    wait_until("the leavers' kernel threads gone", || {
        threads_of(&k, pid) == 4
    });
    run_in(&p, move || {
        thread_pool_destroy(&tpp).unwrap();
        assert_eq!(tpp.created(), 0);
        dispatch_destroy(&d).unwrap();
    });
    assert_eq!(threads_of(&k, pid), 0);
}

#[test]
fn the_pool_never_exceeds_maximum() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let (d, tpp) = run_in(&p, move || {
        let d = gated_dispatch(&g);
        // An increment of 3 and a maximum of 5.
        let tpp = thread_pool_create(attr(&d, 2, 4, 3, 5), 0).unwrap();
        thread_pool_start(&tpp).unwrap();
        (d, tpp)
    });
    let chid = d.chid();
    let cs = clients(&k, 10, pid, chid);
    wait_until("five handlers busy", || gate.inside() == 5);
    wait_until("five clients SEND-blocked, waiting for a thread", || {
        k.snapshot()
            .threads
            .iter()
            .filter(|t| t.state == ThreadState::Send { pid, chid })
            .count()
            == 5
    });
    assert_eq!((tpp.created(), tpp.waiting()), (5, 0));
    std::thread::sleep(SHORT);
    assert_eq!(tpp.created(), 5, "no sixth thread");
    assert_eq!(threads_of(&k, pid), 5);
    gate.open();
    for (i, (c, h)) in cs.into_iter().enumerate() {
        assert_eq!(join(h), Ok(i as i64));
        drop(c);
    }
    assert!(tpp.created() <= 5);
    run_in(&p, move || {
        thread_pool_destroy(&tpp).unwrap();
        dispatch_destroy(&d).unwrap();
    });
}

/// Eight busy threads, the maximum lowered to 3 meanwhile, then all eight handlers return at
/// once: exactly five leave. (Each leaver used to decide on a count that the others' departures
/// had not lowered yet, and the pool could fall below its maximum, even to no thread at all.)
#[test]
fn lowering_maximum_under_busy_threads_leaves_exactly_maximum() {
    for _ in 0..5 {
        let k = kernel();
        let p = process(&k);
        let pid = p.pid();
        let gate = Arc::new(Gate::default());
        let g = gate.clone();
        let (d, tpp) = run_in(&p, move || {
            let d = gated_dispatch(&g);
            let tpp = thread_pool_create(attr(&d, 2, 8, 1, 8), 0).unwrap();
            thread_pool_start(&tpp).unwrap();
            (d, tpp)
        });
        let chid = d.chid();
        let cs = clients(&k, 8, pid, chid);
        wait_until("eight handlers busy", || gate.inside() == 8);
        let t = tpp.clone();
        run_in(&p, move || {
            thread_pool_limits(&t, -1, -1, 3, -1, THREAD_POOL_CONTROL_NONBLOCK).unwrap()
        });
        // A watcher samples the count from the release on: it must never fall below 3.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, st) = (tpp.clone(), stop.clone());
        let watcher = std::thread::spawn(move || {
            let mut least = u32::MAX;
            while !st.load(Ordering::SeqCst) {
                least = least.min(w.created());
                std::hint::spin_loop();
            }
            least
        });
        gate.open();
        for (i, (c, h)) in cs.into_iter().enumerate() {
            assert_eq!(join(h), Ok(i as i64));
            drop(c);
        }
        wait_until("the pool down to its maximum, every thread blocked", || {
            tpp.created() == 3 && tpp.waiting() == 3 && receive_blocked(&k, pid, chid) == 3
        });
        std::thread::sleep(SHORT);
        stop.store(true, Ordering::SeqCst);
        assert_eq!(
            join(watcher),
            3,
            "the pool fell below its maximum on the way down"
        );
        assert_eq!(tpp.created(), 3, "no thread left beyond the surplus");
        run_in(&p, move || {
            thread_pool_destroy(&tpp).unwrap();
            dispatch_destroy(&d).unwrap();
        });
    }
}

#[test]
fn create_start_control_and_limits_refuse_bad_input_with_einval() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        message_attach(&d, None, 0x200, 0x200, |_, _, _| 0).unwrap();
        let bad = |flags: u32, max: u16| thread_pool_create(attr(&d, 1, 2, 1, max), flags).err();
        assert_eq!(bad(0, 0), Some(Errno::EINVAL), "maximum 0");
        for flags in [
            POOL_FLAG_EXIT_SELF | POOL_FLAG_USE_SELF,
            POOL_FLAG_EXITING,
            POOL_FLAG_CHANGING,
            POOL_FLAG_RESERVE,
            POOL_FLAG_ERROR,
            0x100,
            POOL_FLAG_CALL_BLOCK_ERRF,
            POOL_FLAG_CALL_HANDLE_ERRF,
        ] {
            assert_eq!(bad(flags, 4), Some(Errno::EINVAL), "flags {flags:#x}");
        }
        let mut a = attr(&d, 1, 2, 1, 4);
        a.error_func = Some(Arc::new(|_, _| {}));
        assert!(thread_pool_create(a, POOL_FLAG_CALL_BLOCK_ERRF).is_ok());

        // Limits QNX normalises at start: hi_water down to maximum, lo_water down to it.
        let tpp = thread_pool_create(attr(&d, 9, 7, 1, 3), 0).unwrap();
        assert_eq!(tpp.limits().lo_water, 9);
        let lim = PoolLimits {
            lo_water: 1,
            increment: 1,
            hi_water: 2,
            maximum: 3,
        };
        assert_eq!(
            thread_pool_control(&tpp, &lim, 3, 2, 0),
            Err(Errno::EINVAL),
            "lower > upper"
        );
        assert_eq!(
            thread_pool_control(&tpp, &lim, 0, 9, 0x10),
            Err(Errno::EINVAL),
            "unknown flags"
        );
        assert_eq!(
            thread_pool_control(
                &tpp,
                &PoolLimits::default(),
                0,
                9,
                THREAD_POOL_CONTROL_MAXIMUM
            ),
            Err(Errno::EINVAL),
            "maximum 0"
        );
        assert_eq!(
            thread_pool_limits(&tpp, 70_000, -1, -1, -1, 0),
            Err(Errno::EINVAL)
        );
        thread_pool_start(&tpp).unwrap();
        assert_eq!(
            tpp.limits(),
            PoolLimits {
                lo_water: 3,
                increment: 1,
                hi_water: 3,
                maximum: 3
            }
        );
        wait_until("three threads", || tpp.waiting() == 3);
        // A wait that could never end: more threads than maximum, fewer than lo_water.
        assert_eq!(thread_pool_control(&tpp, &lim, 4, 9, 0), Err(Errno::EINVAL));
        assert_eq!(
            thread_pool_limits(&tpp, 3, -1, -1, -1, 0).map(|()| tpp.created()),
            Ok(3)
        );
        assert_eq!(
            thread_pool_control(&tpp, &lim, 0, 2, 0),
            Err(Errno::EINVAL),
            "upper below lo_water"
        );
        // With nothing to do, QNX's returns at once, within the bounds or not.
        assert_eq!(
            thread_pool_control(&tpp, &lim, 0, 2, THREAD_POOL_CONTROL_LOWATER),
            Ok(())
        );
        assert_eq!(tpp.created(), 3);
        thread_pool_destroy(&tpp).unwrap();
        assert_eq!(
            thread_pool_control(&tpp, &lim, 0, 9, THREAD_POOL_CONTROL_NONBLOCK),
            Err(Errno::EINVAL),
            "destroyed"
        );
        // Destroying from a pool thread would wait for itself.
        let (tx, rx) = mpsc::channel();
        let slot: Arc<Mutex<Option<ThreadPool<DispatchPool>>>> = Arc::default();
        let s = slot.clone();
        let d2 = dispatch_create().unwrap();
        message_attach(&d2, None, 0x200, 0x200, move |ctp, _, _| {
            let pool = s.lock().unwrap().clone().unwrap();
            tx.send(thread_pool_destroy(&pool)).unwrap();
            ctp.reply(0, &[]).map_or(-1, |()| 0)
        })
        .unwrap();
        let tpp2 = thread_pool_create(attr(&d2, 1, 1, 1, 2), 0).unwrap();
        *slot.lock().unwrap() = Some(tpp2.clone());
        thread_pool_start(&tpp2).unwrap();
        let coid = message_connect(&d2, MSG_FLAG_SIDE_CHANNEL).unwrap();
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(LONG_NS),
        )
        .unwrap();
        assert_eq!(msg_send(coid, &typed(0x200), &mut []), Ok(0));
        assert_eq!(rx.recv_timeout(DEADLINE).unwrap(), Err(Errno::EDEADLK));
        thread_pool_destroy(&tpp2).unwrap();
        *slot.lock().unwrap() = None;
        dispatch_destroy(&d2).unwrap();
        dispatch_destroy(&d).unwrap();
    });
}

#[test]
fn use_self_makes_the_caller_a_pool_thread_until_the_pool_is_destroyed() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let (d, tpp) = run_in(&p, || {
        let d = dispatch_create().unwrap();
        message_attach(&d, None, 0x200, 0x200, |ctp, _, _| {
            ctp.reply(7, &[]).map_or(-1, |()| 0)
        })
        .unwrap();
        let tpp = thread_pool_create(attr(&d, 1, 1, 1, 4), POOL_FLAG_USE_SELF).unwrap();
        (d, tpp)
    });
    let chid = d.chid();
    let (tx, rx) = mpsc::channel();
    let t = tpp.clone();
    let starter = p
        .spawn(move || {
            tx.send(gettid().unwrap()).unwrap();
            thread_pool_start(&t)
        })
        .unwrap();
    let tid = rx.recv_timeout(DEADLINE).unwrap();
    // The caller itself blocks in the pool: lo_water 1 asks no other thread.
    wait_receive_blocked(&k, pid, tid, chid);
    assert_eq!((tpp.created(), tpp.waiting()), (1, 1));
    assert!(!starter.is_finished());
    let c = process(&k);
    let got = run_in(&c, move || {
        let coid = connect_attach(0, pid, chid, 0, 0).unwrap();
        msg_send(coid, &typed(0x200), &mut [])
    });
    assert_eq!(got, Ok(7));
    run_in(&p, move || {
        thread_pool_destroy(&tpp).unwrap();
        assert_eq!(tpp.created(), 0);
        dispatch_destroy(&d).unwrap();
    });
    assert_eq!(join(starter), Ok(()));
}

#[test]
fn exit_self_ends_the_callers_kernel_thread_and_the_pool_runs_on() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let (tx, rx) = mpsc::channel();
    let starter = p
        .spawn(move || {
            let d = dispatch_create().unwrap();
            message_attach(&d, None, 0x200, 0x200, |ctp, _, _| {
                ctp.reply(9, &[]).map_or(-1, |()| 0)
            })
            .unwrap();
            let tpp = thread_pool_create(attr(&d, 2, 3, 1, 4), POOL_FLAG_EXIT_SELF).unwrap();
            tx.send((d.clone(), tpp.clone(), gettid().unwrap()))
                .unwrap();
            thread_pool_start(&tpp)
        })
        .unwrap();
    let (d, tpp, tid) = rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!(join(starter), Ok(()));
    assert!(
        k.thread_info(pid, tid).is_err(),
        "the starter's kernel thread ended"
    );
    let chid = d.chid();
    wait_until("lo_water threads blocked", || {
        receive_blocked(&k, pid, chid) == 2
    });
    let c = process(&k);
    let got = run_in(&c, move || {
        let coid = connect_attach(0, pid, chid, 0, 0).unwrap();
        msg_send(coid, &typed(0x200), &mut [])
    });
    assert_eq!(got, Ok(9));
    run_in(&p, move || {
        thread_pool_destroy(&tpp).unwrap();
        dispatch_destroy(&d).unwrap();
    });
    assert_eq!(threads_of(&k, pid), 0);
}

#[test]
fn control_and_limits_move_the_pool_between_bounds() {
    let k = kernel();
    let p = process(&k);
    let pid = p.pid();
    let kk = k.clone();
    run_in(&p, move || {
        let d = dispatch_create().unwrap();
        message_attach(&d, None, 0x200, 0x200, |_, _, _| 0).unwrap();
        let chid = d.chid();
        let tpp = thread_pool_create(attr(&d, 1, 2, 1, 10), 0).unwrap();
        // Before the start, control only takes the limits.
        thread_pool_limits(&tpp, -1, 3, -1, -1, 0).unwrap();
        assert_eq!(tpp.created(), 0);
        assert_eq!(tpp.limits().hi_water, 3);
        thread_pool_start(&tpp).unwrap();
        wait_until("one thread", || tpp.waiting() == 1);
        // Up: lo_water 4, and the call waits until at least 4 threads exist.
        thread_pool_limits(&tpp, 4, 6, 10, 1, 0).unwrap();
        assert!(tpp.created() >= 4);
        wait_until("four blocked", || receive_blocked(&kk, pid, chid) == 4);
        assert_eq!(tpp.created(), 4);
        // Down: hi_water 1 unblocks the surplus, which leave.
        let lim = PoolLimits {
            lo_water: 1,
            increment: 1,
            hi_water: 1,
            maximum: 10,
        };
        let all = THREAD_POOL_CONTROL_LOWATER
            | THREAD_POOL_CONTROL_HIWATER
            | THREAD_POOL_CONTROL_MAXIMUM
            | THREAD_POOL_CONTROL_INCREMENT;
        thread_pool_control(&tpp, &lim, 1, 1, all).unwrap();
        wait_until("one thread, blocked", || {
            tpp.created() == 1 && receive_blocked(&kk, pid, chid) == 1
        });
        // NONBLOCK returns at once; the pool gets there by itself.
        thread_pool_limits(&tpp, 3, 3, -1, -1, THREAD_POOL_CONTROL_NONBLOCK).unwrap();
        wait_until("three blocked", || {
            tpp.waiting() == 3 && receive_blocked(&kk, pid, chid) == 3
        });
        // A lower maximum makes the surplus leave.
        thread_pool_limits(&tpp, -1, -1, 2, -1, 0).unwrap();
        wait_until("two threads, blocked", || {
            tpp.created() == 2 && receive_blocked(&kk, pid, chid) == 2
        });
        assert_eq!(tpp.limits().lo_water, 2);
        thread_pool_destroy(&tpp).unwrap();
        dispatch_destroy(&d).unwrap();
    });
}

#[test]
fn the_error_function_hears_of_failed_handlers_and_contexts_and_threads_get_tid_name() {
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let d = dispatch_create().unwrap();
        let names: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let n = names.clone();
        message_attach(&d, None, 0x200, 0x200, move |ctp, _, _| {
            n.lock()
                .unwrap()
                .push(std::thread::current().name().map(str::to_owned));
            ctp.reply(0, &[]).map_or(-1, |()| 0)
        })
        .unwrap();
        let errors: Arc<Mutex<Vec<(u32, Errno)>>> = Arc::default();
        let e = errors.clone();
        let mut a = attr(&d, 1, 2, 1, 3);
        a.tid_name = Some("pool-worker".into());
        a.error_func = Some(Arc::new(move |reason, err| {
            e.lock().unwrap().push((reason, err))
        }));
        let tpp = thread_pool_create(a, POOL_FLAG_CALL_HANDLE_ERRF).unwrap();
        thread_pool_start(&tpp).unwrap();
        let coid = message_connect(&d, MSG_FLAG_SIDE_CHANNEL).unwrap();
        let send = |ty: u16| {
            timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(LONG_NS),
            )
            .unwrap();
            msg_send(coid, &typed(ty), &mut [])
        };
        assert_eq!(send(0x200), Ok(0));
        // An unmatched type: the dispatch layer's ENOSYS, and the handler's -1.
        assert_eq!(send(0x300), Err(Errno::ENOSYS));
        wait_until("the error function called", || {
            !errors.lock().unwrap().is_empty()
        });
        assert_eq!(errors.lock().unwrap()[0].0, POOL_ERROR_HANDLER);
        assert_eq!(
            *names.lock().unwrap(),
            vec![Some("pool-worker".to_string())]
        );
        thread_pool_destroy(&tpp).unwrap();

        // A handle with nothing attached gives no context: each new thread reports it (always)
        // and leaves.
        let bare = dispatch_create().unwrap();
        let errors2: Arc<Mutex<Vec<(u32, Errno)>>> = Arc::default();
        let e2 = errors2.clone();
        let mut a = attr(&bare, 1, 1, 1, 1);
        a.error_func = Some(Arc::new(move |reason, err| {
            e2.lock().unwrap().push((reason, err))
        }));
        let tpp = thread_pool_create(a, 0).unwrap();
        thread_pool_start(&tpp).unwrap();
        wait_until("the context failure reported and the thread gone", || {
            !errors2.lock().unwrap().is_empty() && tpp.created() == 0
        });
        assert_eq!(
            errors2.lock().unwrap()[0],
            (POOL_ERROR_CONTEXT, Errno::EINVAL)
        );
        thread_pool_destroy(&tpp).unwrap();
        connect_detach(coid).unwrap();
        dispatch_destroy(&d).unwrap();
    });
}

#[test]
fn a_pool_can_drive_functions_of_its_own() {
    // PoolFuncs over a plain channel: each thread receives one pulse at a time and counts it.
    struct Counter {
        chid: i32,
        count: Arc<AtomicU32>,
    }
    impl PoolFuncs for Counter {
        type Context = Vec<u8>;
        fn context_alloc(&self) -> userlib::KResult<Vec<u8>> {
            Ok(vec![0; 64])
        }
        fn block(&self, ctp: &mut Vec<u8>) -> userlib::KResult<()> {
            msg_receive(self.chid, ctp, None).map(|_| ())
        }
        fn handler(&self, ctp: &mut Vec<u8>) -> userlib::KResult<()> {
            if ctp[..] != [0; 64][..] {
                self.count.fetch_add(1, Ordering::SeqCst);
            }
            ctp.fill(0);
            Ok(())
        }
        fn unblock(&self, _: &Vec<u8>) -> bool {
            // A pulse to our own channel (dispatch_unblock sends _PULSE_CODE_UNBLOCK).
            let coid = connect_attach(0, 0, self.chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            msg_send_pulse(coid, -1, 6, 0).unwrap();
            connect_detach(coid).unwrap();
            true
        }
    }
    let k = kernel();
    let p = process(&k);
    run_in(&p, || {
        let chid = channel_create(0).unwrap();
        let count = Arc::new(AtomicU32::new(0));
        let mut a = ThreadPoolAttr::new(Counter {
            chid,
            count: count.clone(),
        });
        (a.lo_water, a.hi_water, a.increment, a.maximum) = (2, 3, 1, 4);
        let tpp = thread_pool_create(a, 0).unwrap();
        thread_pool_start(&tpp).unwrap();
        let coid = connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        for v in 0..10 {
            msg_send_pulse(coid, -1, 5, v + 1).unwrap();
        }
        wait_until("ten pulses counted", || count.load(Ordering::SeqCst) == 10);
        thread_pool_destroy(&tpp).unwrap();
        assert_eq!(tpp.created(), 0);
        connect_detach(coid).unwrap();
        channel_destroy(chid).unwrap();
    });
}
