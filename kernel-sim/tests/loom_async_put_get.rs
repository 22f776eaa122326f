#![cfg(loom)]
//! loom models of asyncmsg's put / trigger / get path and of the `'P'` pulse handshake.
//!
//! * put / trigger / get: a producer thread of process S pushes two messages on its sender
//!   queue (without entering the kernel) and triggers (MsgSendAsync) after each or once after
//!   both; a consumer thread of process R takes them with MsgReceiveAsync until it has both,
//!   blocking when nothing is ready (or, on an `_NTO_CHF_ASYNC_NONBLOCK` channel, retrying on
//!   EAGAIN). Both messages must arrive exactly once, in order, with their bytes, and the
//!   consumer must never be left blocked: the producer's last trigger always finds it or
//!   leaves the connection ready for its next receive (a lost trigger is a loom deadlock).
//! * the `'P'` handshake: the sender's library wants a pulse when the kernel takes messages
//!   (`AQ_WANT_PULSE`) and is handling the previous one (`AQ_PULSE_PENDING` still set). Its
//!   `pulse_handled()` clears the flag and then reads the counters; the kernel stores `head`
//!   and then reads the flag. The fences in `pulse_handled` and `bump` make this a store-load
//!   handshake: either the library sees everything taken or the kernel sees the flag clear and
//!   pulses. Without them both sides can read the stale value and the notification is lost.
//!
//! The sender queue is created inside each execution (it holds loom atomics) and outlives its
//! connection (detached before the queue is dropped). Run with `--cfg loom` (see
//! docs/toolbox.md, "loom, as it works here").

mod support;

use loom::sync::Arc;
use loom::thread;
use support::*;

/// The two messages (static: their buffers live for the whole model).
const MSGS: [&[u8]; 2] = [b"first", b"second!"];
/// The channel's receive buffer size (each message gets one buffer of the arena).
const BUFSZ: usize = 8;

/// Pushes message `i` on `q` (library side, no kernel entry).
fn put(q: &AsyncQueue, i: usize) -> u32 {
    let desc = MsgDesc {
        iov: Iov::from_slice(MSGS[i]),
        parts: 0,
    };
    // SAFETY: one producer per queue (each model pushes from one thread only); the buffer is
    // static, so it stays valid and unchanged until its slot is released.
    unsafe { q.push(desc) }.expect("the queue has room")
}

/// How the producer triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// MsgSendAsync after each put.
    EachPut,
    /// One MsgSendAsync after both puts (a batch).
    AfterBoth,
}

/// What one put / trigger / get execution did.
struct Outcome {
    /// Receives that returned messages.
    batches: u64,
    /// Whether the consumer ever blocked in the kernel.
    blocked: bool,
    /// Receives that found nothing ready (EAGAIN, nonblocking channel only).
    eagains: u32,
}

/// One put / trigger / get execution: `flags` for the asyncmsg channel, `max` messages per
/// receive.
fn put_trigger_get(flags: u32, trigger: Trigger, max: usize) -> Outcome {
    let k = Kernel::new(Config::small()).unwrap();
    let r = k.process_create().unwrap();
    let s = k.process_create().unwrap();
    let start = k.pool_usage();

    let srv = k.thread_attach(r, 10).unwrap();
    let chid = srv.async_channel_create(flags, BUFSZ, 2, None).unwrap();
    let q = Arc::new(AsyncQueue::new(4));
    // S's connection, made by a thread of S that stays with the main thread for the teardown.
    let setup = k.thread_attach(s, 10).unwrap();
    // SAFETY: `q` is kept alive by this function until after the connection is detached below.
    let coid = unsafe { setup.async_connect_attach(0, r.pid, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }
        .unwrap();

    let (kp, qp) = (k.clone(), q.clone());
    let producer = thread::spawn(move || {
        let p = kp.thread_attach(s, 10).unwrap();
        assert_eq!(put(&qp, 0), 0);
        if trigger == Trigger::EachPut {
            let pending = p.msg_send_async(coid).unwrap();
            assert!(pending <= 1, "at most the first message pending");
        }
        assert_eq!(put(&qp, 1), 1);
        let pending = p.msg_send_async(coid).unwrap();
        assert!(pending <= 2);
    });

    let kc = k.clone();
    let consumer = thread::spawn(move || {
        let c = kc.thread_attach(r, 10).unwrap();
        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut eagains = 0;
        while got.len() < 2 {
            let mut arena = [0u8; 2 * BUFSZ];
            let mut hdrs = [AsyncGetHeader::default(); 2];
            match c.msg_receive_async(chid, &mut arena, &mut hdrs[..max]) {
                Ok(n) => {
                    assert!((1..=max).contains(&n), "a receive returned {n} messages");
                    for h in &hdrs[..n] {
                        assert_eq!(h.err, 0, "no error for a message that fits");
                        assert_eq!(h.info.pid, s.pid, "sender's pid");
                        assert_eq!(h.info.coid, coid, "sender's coid");
                        assert_eq!(h.info.msglen, i64::from(h.len));
                        let off = h.offset as usize;
                        got.push(arena[off..off + h.len as usize].to_vec());
                    }
                }
                Err(e) => {
                    assert_eq!(flags & _NTO_CHF_ASYNC_NONBLOCK, _NTO_CHF_ASYNC_NONBLOCK);
                    assert_eq!(e, Errno::EAGAIN, "a receive can only find nothing ready");
                    eagains += 1;
                    thread::yield_now();
                }
            }
        }
        (got, eagains)
    });

    producer.join().unwrap();
    let (got, eagains) = consumer.join().unwrap();
    assert_eq!(
        got, MSGS,
        "both messages, exactly once, in order, with their bytes"
    );

    let (done, head, tail) = q.counters();
    assert_eq!(
        (done, head, tail),
        (0, 2, 2),
        "everything taken: head == tail"
    );
    assert_eq!(q.pending(), 0);
    assert_eq!(q.error_of(0), 0);
    assert_eq!(q.error_of(1), 0);
    let cc = setup.async_conn_counters(coid).unwrap();
    assert_eq!(cc.msgs_taken, 2);
    let rc = k.process_counters(r.pid).unwrap();
    assert_eq!(rc.async_msgs_received, 2);
    let sc = k.process_counters(s.pid).unwrap();
    assert_eq!(sc.async_msgs_sent, 2);

    // Nothing left for a trigger to find.
    assert_eq!(setup.msg_send_async(coid), Ok(0));
    q.release_to(2);
    setup.connect_detach(coid).unwrap();
    srv.channel_destroy(chid).unwrap();
    drop((setup, srv));
    assert_freed(&k, start);
    Outcome {
        batches: rc.async_batches_received,
        blocked: rc.blocks > 0,
        eagains,
    }
}

static COVER_EACH: Coverage = Coverage::new(&[
    "both messages in one batch",
    "one message per batch",
    "consumer blocked and woken by a trigger",
]);

/// Blocking channel, a trigger after each put, batches of up to 2: the consumer may block
/// before either trigger, and a batch may take one message or both (the second put is not
/// ordered with the kernel until the second trigger).
#[test]
fn put_trigger_each_get_blocking_delivers_both_in_order() {
    model(|| {
        let o = put_trigger_get(0, Trigger::EachPut, 2);
        assert_eq!(o.eagains, 0);
        COVER_EACH.hit(if o.batches == 1 { 0 } else { 1 });
        if o.blocked {
            COVER_EACH.hit(2);
        }
    });
    COVER_EACH.check();
}

static COVER_BOTH: Coverage = Coverage::new(&[
    "consumer blocked and woken by the trigger",
    "consumer found the connection ready",
]);

/// Blocking channel, one trigger after both puts, one message per receive: the first receive
/// takes one and leaves the connection ready (round-robin), so the second must find it.
#[test]
fn put_put_trigger_get_one_at_a_time_blocking_delivers_both_in_order() {
    model(|| {
        let o = put_trigger_get(0, Trigger::AfterBoth, 1);
        assert_eq!(o.batches, 2, "one message per receive");
        COVER_BOTH.hit(if o.blocked { 0 } else { 1 });
    });
    COVER_BOTH.check();
}

static COVER_NB: Coverage = Coverage::new(&[
    "a receive found nothing ready (EAGAIN) and retried",
    "both messages in one batch",
    "one message per batch",
]);

/// `_NTO_CHF_ASYNC_NONBLOCK`, a trigger after each put, batches of up to 2: the consumer never
/// blocks; it retries on EAGAIN until it has both.
#[test]
fn put_trigger_each_get_nonblocking_delivers_both_in_order() {
    model(|| {
        let o = put_trigger_get(_NTO_CHF_ASYNC_NONBLOCK, Trigger::EachPut, 2);
        assert!(!o.blocked, "a nonblocking channel's receive never blocks");
        if o.eagains > 0 {
            COVER_NB.hit(0);
        }
        COVER_NB.hit(if o.batches == 1 { 1 } else { 2 });
    });
    COVER_NB.check();
}

/// The `'P'` handshake's setup: R's nonblocking asyncmsg channel taking one message per
/// receive; S's notify channel and coid, and its asyncmsg connection with `AQ_WANT_PULSE`
/// set. Both messages are put and triggered, and the library is handling an earlier pulse
/// (`AQ_PULSE_PENDING` set, that pulse already received).
struct PulseSetup {
    k: Kernel,
    start: PoolUsage,
    r: Pid,
    s: Pid,
    srv: ThreadCtx,
    setup: ThreadCtx,
    chid: i32,
    nchid: i32,
    ncoid: i32,
    coid: i32,
    q: Arc<AsyncQueue>,
}

impl PulseSetup {
    fn new() -> PulseSetup {
        let k = Kernel::new(Config::small()).unwrap();
        let r = k.process_create().unwrap();
        let s = k.process_create().unwrap();
        let start = k.pool_usage();
        let srv = k.thread_attach(r, 10).unwrap();
        let chid = srv
            .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, BUFSZ, 1, None)
            .unwrap();
        let setup = k.thread_attach(s, 10).unwrap();
        let nchid = setup.channel_create(0).unwrap();
        let ncoid = setup
            .connect_attach(0, 0, nchid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        let q = Arc::new(AsyncQueue::new(4));
        // SAFETY: `q` is kept alive by the setup until after the connection is detached.
        let coid =
            unsafe { setup.async_connect_attach(0, r.pid, chid, _NTO_SIDE_CHANNEL, 0, &q, ncoid) }
                .unwrap();
        put(&q, 0);
        put(&q, 1);
        q.set_flags(AQ_WANT_PULSE | AQ_PULSE_PENDING);
        assert_eq!(setup.msg_send_async(coid), Ok(2));
        PulseSetup {
            k,
            start,
            r,
            s,
            srv,
            setup,
            chid,
            nchid,
            ncoid,
            coid,
            q,
        }
    }

    /// Spawns R's consumer: two receives of one message each (both are ready: the trigger came
    /// first and a connection not drained stays ready).
    fn spawn_consumer(&self) -> thread::JoinHandle<()> {
        let (k, r, chid) = (self.k.clone(), self.r, self.chid);
        thread::spawn(move || {
            let c = k.thread_attach(r, 10).unwrap();
            for (i, want) in MSGS.iter().enumerate() {
                let mut arena = [0u8; BUFSZ];
                let mut hdrs = [AsyncGetHeader::default(); 1];
                assert_eq!(
                    c.msg_receive_async(chid, &mut arena, &mut hdrs),
                    Ok(1),
                    "message {i} is ready"
                );
                assert_eq!(hdrs[0].err, 0);
                assert_eq!(&arena[..hdrs[0].len as usize], *want, "message {i}'s bytes");
            }
        })
    }

    /// The `'P'` pulses queued on the notify channel (the connection's own notification pulse,
    /// reserved at attach, is in use whether queued or not: count the queue itself).
    fn pulses_queued(&self) -> u32 {
        let s = self.setup.pid();
        self.k
            .snapshot()
            .channels
            .iter()
            .find(|c| c.pid == s && c.chid == self.nchid)
            .map_or(0, |c| c.queued)
    }

    /// Receives one queued pulse from the notify channel: it must be a `'P'` naming the coid.
    fn take_pulse(&self, ctx: &ThreadCtx) {
        let mut buf = [0u8; PULSE_SIZE];
        assert_eq!(
            ctx.msg_receive(self.nchid, &mut buf, None),
            Ok(0),
            "a pulse"
        );
        let p = Pulse::from_bytes(&buf).unwrap();
        assert_eq!(p.code, PULSE_CODE_TAKEN, "a 'P' pulse");
        assert_eq!(p.value_int(), self.coid, "naming the asyncmsg coid");
    }

    /// Checks the end state and frees everything.
    fn finish(self) {
        assert_eq!(self.q.counters(), (0, 2, 2), "everything taken");
        assert_eq!(
            self.k.process_counters(self.s.pid).unwrap().async_msgs_sent,
            2
        );
        assert_eq!(self.pulses_queued(), 0, "no pulse left");
        self.setup.connect_detach(self.coid).unwrap();
        self.setup.connect_detach(self.ncoid).unwrap();
        self.setup.channel_destroy(self.nchid).unwrap();
        self.srv.channel_destroy(self.chid).unwrap();
        let (k, start) = (self.k.clone(), self.start);
        drop(self);
        assert_freed(&k, start);
    }
}

static COVER_PULSE: Coverage = Coverage::new(&[
    "library saw everything taken, no pulse",
    "library saw everything taken, and a pulse came anyway",
    "library saw messages not yet taken: a pulse is pending",
]);

/// One round of the handshake against two takes: after both threads are done, either the
/// library saw `head == tail` or a `'P'` pulse is pending (flag set, pulse queued). Without the
/// fences in `pulse_handled` and `bump` the library can read a stale `head` while the kernel
/// reads a stale `AQ_PULSE_PENDING`, and this fails.
#[test]
fn pulse_handled_racing_takes_sees_everything_or_gets_a_pulse() {
    model(|| {
        let m = PulseSetup::new();
        let consumer = m.spawn_consumer();
        let q = m.q.clone();
        let library = thread::spawn(move || {
            q.pulse_handled();
            let (_, head, tail) = q.counters();
            assert_eq!(tail, 2);
            head
        });
        consumer.join().unwrap();
        let seen = library.join().unwrap();

        let queued = m.pulses_queued();
        assert!(queued <= 1, "at most one 'P' pulse at a time");
        if seen < 2 {
            assert!(
                m.q.flags() & AQ_PULSE_PENDING != 0 && queued == 1,
                "lost notification: the library saw head {seen} of 2, and no pulse is pending"
            );
            COVER_PULSE.hit(2);
        } else {
            COVER_PULSE.hit(queued as usize);
        }
        if queued == 1 {
            let setup = &m.setup;
            m.take_pulse(setup);
        }
        m.finish();
    });
    COVER_PULSE.check();
}

static COVER_LOOP: Coverage = Coverage::new(&[
    "library reaped everything in its first round",
    "library waited for one pulse",
    "library waited for two pulses",
]);

/// The library's loop: handle the pulse, reap; while messages are still out, wait on the
/// notify channel for the next `'P'`. A lost notification leaves it blocked: a loom deadlock.
#[test]
fn library_loop_reaps_everything_without_a_lost_pulse() {
    model(|| {
        let m = PulseSetup::new();
        let consumer = m.spawn_consumer();
        let (k, s, q, nchid, coid) = (m.k.clone(), m.s, m.q.clone(), m.nchid, m.coid);
        let library = thread::spawn(move || {
            let l = k.thread_attach(s, 10).unwrap();
            let mut waits = 0;
            loop {
                q.pulse_handled();
                if q.counters().1 == 2 {
                    return waits;
                }
                let mut buf = [0u8; PULSE_SIZE];
                assert_eq!(l.msg_receive(nchid, &mut buf, None), Ok(0), "a pulse");
                let p = Pulse::from_bytes(&buf).unwrap();
                assert_eq!((p.code, p.value_int()), (PULSE_CODE_TAKEN, coid));
                waits += 1;
            }
        });
        consumer.join().unwrap();
        let waits = library.join().unwrap();
        assert!(waits <= 2, "one pulse per take at most");
        COVER_LOOP.hit(waits);
        // A pulse sent after the library's last round is spurious but allowed.
        let queued = m.pulses_queued();
        assert!(queued <= 1, "at most one 'P' pulse at a time");
        if queued == 1 {
            let setup = &m.setup;
            m.take_pulse(setup);
        }
        m.finish();
    });
    COVER_LOOP.check();
}
