//! The library thread survives its users: a panicking callback, an exhausted pulse pool, a
//! library that cannot start, and handles dropped by threads of other processes (or of none)
//! leave it working and leave no trace in the process (no thread-death pulse, no leaked
//! kernel object).

mod support;

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::{Channel, Config, Errno, Kernel, Process, Received};

/// A callback that panics for message `panic_on` and records the others.
fn panicking_on(rec: &Recorder, panic_on: u32) -> AsyncCallback {
    let record = rec.callback();
    Arc::new(move |err, buf, handle| {
        if handle == panic_on {
            panic!("deliberate panic in the callback of message {handle}");
        }
        record(err, buf, handle)
    })
}

/// The connection's counters, read by a thread of `p`.
fn stats(p: &Process, coid: i32) -> AsyncConnStats {
    run_in(p, move || asyncmsg_connection_stats(coid).unwrap())
}

#[test]
fn a_callback_panic_does_not_stop_later_callbacks() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 16);
    a.call_back = Some(panicking_on(&rec, 1));
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(coid, encode(0, i), i);
        }
        coid
    });
    take(chid, 3);
    // The callbacks after the panicking one, in the same batch...
    assert_eq!(Recorder::pairs(&rec.wait(2)), vec![(0, 0), (0, 2)]);
    // ...and in later ones.
    run_in(&send, move || {
        for i in 3..6 {
            put(coid, encode(0, i), i);
        }
    });
    take(chid, 3);
    assert_eq!(Recorder::pairs(&rec.wait(3)), vec![(0, 3), (0, 4), (0, 5)]);
    wait_until("the counters to catch up", || {
        stats(&send, coid).callbacks == 6
    });
    let s = stats(&send, coid);
    assert_eq!((s.callbacks, s.callback_panics), (6, 1), "{s:?}");
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

#[test]
fn a_full_queue_unblocks_after_a_callback_panic() {
    // 3 messages outstanding at most. The first batch's first callback panics; then the queue
    // fills and empties again several times: every put must get through, and every buffer but
    // the panicking callback's must come back.
    const N: u32 = 12;
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 4);
    a.call_back = Some(panicking_on(&rec, 0));
    let producer = send
        .spawn(move || {
            let coid = connect(rpid, chid, 0, &a);
            for i in 0..N {
                put(coid, encode(0, i), i); // fails the thread after LONG if it stays blocked
            }
            coid
        })
        .unwrap();
    let (got, _) = take(chid, N as usize);
    let seqs: Vec<u32> = got.iter().map(|m| decode(&m.data).1).collect();
    assert_eq!(seqs, (0..N).collect::<Vec<_>>());
    let coid = join(producer);
    let calls = rec.wait(N as usize - 1);
    assert_eq!(
        Recorder::pairs(&calls),
        (1..N).map(|i| (0, i)).collect::<Vec<_>>()
    );
    assert_eq!(stats(&send, coid).callback_panics, 1);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

#[test]
fn time_triggers_keep_firing_after_a_callback_panic() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    // No count trigger: only the time trigger (driven by the library thread) sends.
    let mut a = attr(0, Duration::from_millis(5), 16);
    a.call_back = Some(panicking_on(&rec, 0));
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        put(coid, encode(0, 0), 0);
        coid
    });
    take(chid, 1);
    wait_until("the panicking callback", || {
        stats(&send, coid).callback_panics == 1
    });
    for i in 1..4 {
        run_in(&send, move || put(coid, encode(0, i), i));
        let (got, _) = take(chid, 1);
        assert_eq!(decode(&got[0].data), (0, i), "sent by the time trigger");
    }
    assert_eq!(Recorder::pairs(&rec.wait(3)), vec![(0, 1), (0, 2), (0, 3)]);
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

/// A `tracing` subscriber that keeps every event's level, target and fields.
#[derive(Default)]
struct Capture(Mutex<Vec<Captured>>);

#[derive(Clone, Debug)]
struct Captured {
    level: tracing::Level,
    target: String,
    fields: HashMap<String, String>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for &'static Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Captured {
                level: *event.metadata().level(),
                target: event.metadata().target().into(),
                fields,
            });
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// The events captured so far (the capturing subscriber is installed for the whole test binary
/// on first use: the library thread reports from its own thread).
fn captured() -> Vec<Captured> {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    let c = CAPTURE.get_or_init(|| {
        let c: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(c).expect("no other global subscriber");
        c
    });
    c.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

#[test]
fn a_callback_panic_is_reported_as_a_tracing_error_event() {
    const HANDLE: u32 = 0x5EED;
    captured();
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 16);
    a.call_back = Some(panicking_on(&rec, HANDLE));
    let coid = run_in(&send, move || {
        let coid = connect(rpid, chid, 0, &a);
        put(coid, encode(0, 0), HANDLE);
        coid
    });
    take(chid, 1);
    let handle = HANDLE.to_string();
    let ours = |e: &Captured| e.fields.get("handle") == Some(&handle);
    wait_until("the panic's event", || captured().iter().any(ours));
    let events: Vec<Captured> = captured().into_iter().filter(ours).collect();
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.level, tracing::Level::ERROR);
    assert_eq!(e.target, "userlib::asyncmsg");
    assert_eq!(e.fields.get("coid"), Some(&coid.to_string()), "{e:?}");
    assert_eq!(e.fields.get("err").map(String::as_str), Some("0"), "{e:?}");
    assert_eq!(
        e.fields.get("panic").map(String::as_str),
        Some("deliberate panic in the callback of message 24301"),
        "{e:?}"
    );
    run_in(&send, move || asyncmsg_connect_detach(coid).unwrap());
}

/// A kernel with a small pulse pool, so that tests can exhaust it.
fn small_pulse_pool() -> Kernel {
    Kernel::new(Config {
        max_pulses: 32,
        ..Config::default()
    })
    .unwrap()
}

/// Takes every pulse left in `k`'s pool: a thread of `filler` pulses a channel of its own that
/// nobody receives on until the pool says EAGAIN. The pulses go with the process.
fn exhaust_pulses(k: &Kernel, filler: &Process) {
    let n = run_in(filler, || {
        let chid = userlib::qnx::channel_create(0).unwrap();
        let coid = userlib::qnx::connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
        let mut n = 0u32;
        loop {
            match userlib::qnx::msg_send_pulse(coid, 10, 1, 0) {
                Ok(()) => n += 1,
                Err(Errno::EAGAIN) => return n,
                Err(e) => panic!("msg_send_pulse: {e:?}"),
            }
        }
    });
    let u = k.pool_usage().pulses;
    assert!(n > 0 && u.live == u.capacity, "{n} pulses queued: {u:?}");
}

/// Keeps the sender's library thread busy: a message on a connection of its own (returned)
/// whose callback waits until the returned sender says go (or 3 × [`LONG`] pass, longer than
/// any wait of the tests, which then fail on their own). While it waits, the library thread is
/// not RECEIVE-blocked, so a pulse for it needs a pulse from the pool.
fn hold_library_thread(send: &Process, rpid: i32, chid: i32) -> (i32, mpsc::Sender<()>) {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (in_cb_tx, in_cb_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let mut a = attr(1, Duration::ZERO, 4);
    a.call_back = Some(Arc::new(move |_, _, _| {
        let _ = in_cb_tx.send(());
        let _ = go_rx.lock().unwrap().recv_timeout(3 * LONG);
    }));
    let coid = run_in(send, move || {
        let coid = connect(rpid, chid, 0, &a);
        put(coid, encode(9, 0), 0);
        coid
    });
    take(chid, 1);
    in_cb_rx
        .recv_timeout(LONG)
        .expect("the library thread runs the holding callback");
    (coid, go_tx)
}

#[test]
fn a_detach_runs_its_callbacks_when_no_pulse_is_left() {
    // The detach queues the discarded messages' callbacks for the library thread, which is
    // busy in a callback; the pulse pool is exhausted by another process, so no pulse can tell
    // the library thread about them. They must run all the same once it is free.
    let k = small_pulse_pool();
    let (recv, send, filler) = (process(&k), process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let (x, go) = hold_library_thread(&send, rpid, chid);
    let rec = Recorder::default();
    let mut a = attr(0, Duration::ZERO, 16);
    a.call_back = Some(rec.callback());
    let y = run_in(&send, move || {
        let y = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(y, encode(0, i), i);
        }
        y
    });
    exhaust_pulses(&k, &filler);
    run_in(&send, move || asyncmsg_connect_detach(y).unwrap());
    go.send(()).unwrap();
    let calls = rec.wait(3);
    let ebadf = Errno::EBADF.0;
    assert_eq!(
        Recorder::pairs(&calls),
        vec![(ebadf, 0), (ebadf, 1), (ebadf, 2)]
    );
    // (The detach gave the connection's own notification pulse back to the pool, and the
    // library may have used it to wake its thread; the wake timer covers the case where no
    // pulse at all is left, see the unit test in asyncmsg.rs.)
    run_in(&send, move || asyncmsg_connect_detach(x).unwrap());
}

#[test]
fn a_put_blocked_on_a_full_queue_with_callbacks_goes_on_when_no_pulse_is_left() {
    // The receiver takes the messages of a full queue while the library thread is busy in a
    // callback and the pulse pool is exhausted: the blocked put must get its room at once
    // (not only when the library thread is free), and the taken messages their callbacks.
    let k = small_pulse_pool();
    let (recv, send, filler) = (process(&k), process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let (x, go) = hold_library_thread(&send, rpid, chid);
    let rec = Recorder::default();
    let mut a = attr(1, Duration::ZERO, 4);
    a.call_back = Some(rec.callback());
    let y = run_in(&send, move || {
        let y = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(y, encode(0, i), i);
        }
        y
    });
    exhaust_pulses(&k, &filler);
    let blocked = send
        .spawn(move || asyncmsg_put_timeout(y, encode(0, 3), 3, None, LONG).map_err(|e| e.errno))
        .unwrap();
    std::thread::sleep(SHORT);
    assert!(!blocked.is_finished(), "the 4th put did not block");
    take(chid, 3);
    assert_eq!(join(blocked), Ok(()));
    assert_eq!(rec.len(), 0, "no callback while the library thread is busy");
    go.send(()).unwrap();
    assert_eq!(Recorder::pairs(&rec.wait(3)), vec![(0, 0), (0, 1), (0, 2)]);
    let (got, _) = take(chid, 1);
    assert_eq!(decode(&got[0].data), (0, 3));
    run_in(&send, move || {
        asyncmsg_connect_detach(x).unwrap();
        asyncmsg_connect_detach(y).unwrap();
    });
}

/// The thread-death pulses `chan` (a `_NTO_CHF_THREAD_DEATH` channel of the calling thread's
/// process) receives within `within`: their tids.
fn thread_deaths(chan: &Channel, within: Duration) -> Vec<i32> {
    let mut tids = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match chan.receive_timeout(&mut buf, within) {
            Ok(Received::Pulse(p)) if p.code == _PULSE_CODE_THREADDEATH => tids.push(p.value_int()),
            Ok(Received::Pulse(p)) => panic!("unexpected pulse {p:?}"),
            Ok(Received::Message { .. }) => panic!("unexpected message"),
            Err(Errno::ETIMEDOUT) => return tids,
            Err(e) => panic!("receive on the death channel: {e:?}"),
        }
    }
}

#[test]
fn an_async_connection_dropped_on_a_foreign_thread_makes_no_thread_death_pulse() {
    let k = kernel();
    let (recv, send) = (process(&k), process(&k));
    let rpid = recv.pid();
    let chid = run_in(&recv, || {
        asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap()
    });
    // The test thread is a thread of the sender, which asks for thread-death pulses.
    let _b = bind(&send);
    let deaths = Channel::create(_NTO_CHF_THREAD_DEATH).unwrap();
    let rec = Recorder::default();
    let mut a = attr(0, Duration::ZERO, 16);
    a.call_back = Some(rec.callback());
    let conns: Vec<AsyncConnection> = (0..2)
        .map(|c| {
            let conn = AsyncConnection::attach(rpid, chid, &a).unwrap();
            conn.put(encode(c, 0), c, None).unwrap(); // queued: no trigger
            conn
        })
        .collect();
    assert_eq!(thread_deaths(&deaths, SHORT), Vec::<i32>::new());
    let mut conns = conns.into_iter();
    let (on_other_process, on_unbound) = (conns.next().unwrap(), conns.next().unwrap());
    // Dropped by a thread of the receiver process, and by a thread bound to no process.
    run_in(&recv, move || drop(on_other_process));
    join(std::thread::spawn(move || drop(on_unbound)));
    // Both were detached: their queued messages come back with EBADF.
    let mut pairs = Recorder::pairs(&rec.wait(2));
    pairs.sort();
    assert_eq!(pairs, vec![(Errno::EBADF.0, 0), (Errno::EBADF.0, 1)]);
    assert_eq!(
        k.snapshot()
            .connections
            .iter()
            .filter(|c| c.pid == send.pid() && c.server_pid == rpid && c.chid == chid)
            .count(),
        0,
        "no connection of the sender to the channel is left"
    );
    assert_eq!(
        thread_deaths(&deaths, SHORT),
        Vec::<i32>::new(),
        "the clean-ups ended no thread of the sender"
    );
}

#[test]
fn an_async_channel_dropped_on_a_foreign_thread_makes_no_thread_death_pulse() {
    let k = kernel();
    let (recv, other) = (process(&k), process(&k));
    let _b = bind(&recv);
    let deaths = Channel::create(_NTO_CHF_THREAD_DEATH).unwrap();
    let chans: Vec<AsyncChannel> = (0..2)
        .map(|_| AsyncChannel::create(0, 64, 8, None).unwrap())
        .collect();
    let chids: Vec<i32> = chans.iter().map(AsyncChannel::chid).collect();
    let live_channels = || {
        k.snapshot()
            .channels
            .iter()
            .filter(|c| c.pid == recv.pid() && chids.contains(&c.chid))
            .count()
    };
    assert_eq!(live_channels(), 2);
    assert_eq!(thread_deaths(&deaths, SHORT), Vec::<i32>::new());
    let mut chans = chans.into_iter();
    let (on_other_process, on_unbound) = (chans.next().unwrap(), chans.next().unwrap());
    run_in(&other, move || drop(on_other_process));
    join(std::thread::spawn(move || drop(on_unbound)));
    assert_eq!(live_channels(), 0, "both channels were destroyed");
    assert_eq!(asyncmsg_get(chids[0]).err(), Some(Errno::EBADF));
    assert_eq!(
        thread_deaths(&deaths, SHORT),
        Vec::<i32>::new(),
        "the clean-ups ended no thread of the receiver"
    );
}

#[test]
fn a_library_that_cannot_create_its_wake_timer_gives_back_its_channel_connection_and_thread() {
    let k = Kernel::new(Config {
        max_timers: 2,
        ..Config::default()
    })
    .unwrap();
    let (p, filler) = (process(&k), process(&k));
    // Every timer taken.
    let timers = run_in(&filler, || {
        let ev = userlib::qnx::sigev_none_init();
        std::iter::from_fn(|| userlib::qnx::timer_create(1, Some(&ev)).ok()).collect::<Vec<_>>()
    });
    assert_eq!(timers.len(), 2);
    let _b = bind(&p);
    let before = k.pool_usage();
    assert_eq!(
        asyncmsg_channel_create(0, 0o600, 64, 4, None, None),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        k.pool_usage(),
        before,
        "the library's channel, connection and kernel thread are given back"
    );
    // With a timer free, the library starts.
    run_in(&filler, move || {
        userlib::qnx::timer_destroy(timers[0]).unwrap()
    });
    let chid = asyncmsg_channel_create(0, 0o600, 64, 4, None, None).unwrap();
    asyncmsg_channel_destroy(chid).unwrap();
}

#[test]
fn callbacks_of_an_idle_producer_run_when_others_have_exhausted_the_pulse_pool() {
    // The receiver takes the messages while the library thread is busy and the pool is
    // exhausted: the kernel's notification ('P') goes through the connection's own reserved
    // pulse, so the callbacks run once the library thread is free, with no further put.
    let k = small_pulse_pool();
    let (recv, send, filler) = (process(&k), process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let (x, go) = hold_library_thread(&send, rpid, chid);
    let rec = Recorder::default();
    let mut a = attr(3, Duration::ZERO, 8);
    a.call_back = Some(rec.callback());
    let y = run_in(&send, move || {
        let y = connect(rpid, chid, 0, &a);
        for i in 0..3 {
            put(y, encode(0, i), i);
        }
        y
    });
    exhaust_pulses(&k, &filler);
    take(chid, 3);
    std::thread::sleep(SHORT);
    assert_eq!(rec.len(), 0, "no callback while the library thread is busy");
    go.send(()).unwrap();
    assert_eq!(Recorder::pairs(&rec.wait(3)), vec![(0, 0), (0, 1), (0, 2)]);
    run_in(&send, move || {
        asyncmsg_connect_detach(x).unwrap();
        asyncmsg_connect_detach(y).unwrap();
    });
}

#[test]
fn a_time_trigger_fires_when_others_have_exhausted_the_pulse_pool() {
    // The time trigger's timer pulses the library thread through its own reserved pulse: with
    // the pool exhausted and the library thread busy when it expires, the batch still goes.
    let k = small_pulse_pool();
    let (recv, send, filler) = (process(&k), process(&k), process(&k));
    let _b = bind(&recv);
    let chid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let rpid = recv.pid();
    let (x, go) = hold_library_thread(&send, rpid, chid);
    let a = attr(0, Duration::from_millis(5), 8);
    let y = run_in(&send, move || connect(rpid, chid, 0, &a));
    exhaust_pulses(&k, &filler);
    run_in(&send, move || put(y, encode(1, 0), 0));
    // The timer expires while the library thread is busy; then it is freed.
    std::thread::sleep(SHORT);
    go.send(()).unwrap();
    let (got, _) = take(chid, 1);
    assert_eq!(decode(&got[0].data), (1, 0));
    // And again, with the library thread free: the trigger was not left dead.
    run_in(&send, move || put(y, encode(1, 1), 1));
    let (got, _) = take(chid, 1);
    assert_eq!(decode(&got[0].data), (1, 1));
    run_in(&send, move || {
        asyncmsg_connect_detach(x).unwrap();
        asyncmsg_connect_detach(y).unwrap();
    });
}
