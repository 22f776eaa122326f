#![cfg(loom)]
//! loom models of an asyncmsg flush: a producer puts one message, triggers, and waits on its
//! sender queue until a receiver has taken it (`wait_until(|q| q.pending() == 0, None)`, what
//! `asyncmsg_flush` does).
//!
//! * A consumer takes the message: the wait returns true and never sleeps forever. The
//!   kernel's `consumed()` and the waiter pair their fences (`bump_later` / `wait_until`):
//!   either the waiter sees `head` move or the kernel sees it counted in `waiters` and owes it
//!   a wake-up, which the receiver's kernel entry makes after releasing the kernel lock (an
//!   effect of the call, like every wake). Dropping that deferred wake deadlocks this model
//!   and the destroy model below (whose `kill()` wake is deferred the same way).
//! * The channel is destroyed instead (ChannelDestroy from the receiver's process, once the
//!   producer has triggered): the wait returns false and the queue is `AQ_DEAD`, whether the
//!   destroy lands before the wait begins or while it sleeps.
//! * A consumer races the destroy: the wait returns true only if the message was taken, and
//!   false only if the queue is dead.
//!
//! The queue is created inside each execution (it holds loom atomics) and outlives its
//! connection. A wait with a deadline would spin under loom (wait.rs: it times out at once,
//! but the deadline never passes in real time), so every wait here has none. Run with
//! `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::sync::Arc;
use loom::thread;
use support::*;

/// The message (static: its buffer lives for the whole model).
const MSG: &[u8] = b"flush me";
/// The channel's receive buffer size.
const BUFSZ: usize = 8;

/// What the flush's first look at its condition saw, and how many looks it took.
#[derive(Clone, Copy, Debug)]
struct FirstLook {
    /// The message was already taken.
    ready: bool,
    /// The queue was already dead.
    dead: bool,
    /// How many times the wait evaluated its condition in all.
    looks: u32,
}

/// The flush models' setup: R's (blocking) asyncmsg channel, S's connection to it over a queue
/// made in this execution, and a thread of each process kept by the main thread.
struct Setup {
    k: Kernel,
    start: PoolUsage,
    r: Pid,
    s: Pid,
    srv: ThreadCtx,
    snd: ThreadCtx,
    chid: i32,
    coid: i32,
    q: Arc<AsyncQueue>,
}

impl Setup {
    fn new() -> Setup {
        let k = Kernel::new(Config::small()).unwrap();
        let r = k.process_create().unwrap();
        let s = k.process_create().unwrap();
        let start = k.pool_usage();
        let srv = k.thread_attach(r, 10).unwrap();
        let chid = srv.async_channel_create(0, BUFSZ, 1, None).unwrap();
        let snd = k.thread_attach(s, 10).unwrap();
        let q = Arc::new(AsyncQueue::new(2));
        // SAFETY: `q` is kept alive by the setup until after the connection is detached.
        let coid =
            unsafe { snd.async_connect_attach(0, r.pid, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }
                .unwrap();
        Setup {
            k,
            start,
            r,
            s,
            srv,
            snd,
            chid,
            coid,
            q,
        }
    }

    /// Spawns S's producer: put, trigger, flush. Returns the wait's result and what its first
    /// evaluation of its condition saw.
    fn spawn_producer(&self) -> thread::JoinHandle<(bool, FirstLook)> {
        let (k, s, q, coid) = (self.k.clone(), self.s, self.q.clone(), self.coid);
        thread::spawn(move || {
            let p = k.thread_attach(s, 10).unwrap();
            let desc = MsgDesc {
                iov: Iov::from_slice(MSG),
                parts: 0,
            };
            // SAFETY: the only producer on this queue; the buffer is static.
            assert_eq!(unsafe { q.push(desc) }, Some(0));
            assert_eq!(
                p.msg_send_async(coid),
                Ok(1),
                "the trigger finds the message"
            );
            let first = std::cell::Cell::new(None);
            let ok = q.wait_until(
                |q| {
                    let ready = q.pending() == 0;
                    match first.get() {
                        None => first.set(Some(FirstLook {
                            ready,
                            dead: q.flags() & AQ_DEAD != 0,
                            looks: 1,
                        })),
                        Some(f) => first.set(Some(FirstLook {
                            looks: f.looks + 1,
                            ..f
                        })),
                    }
                    ready
                },
                None,
            );
            (ok, first.get().expect("the condition was evaluated"))
        })
    }

    /// Spawns R's consumer: one blocking receive of one message. Returns what it got.
    fn spawn_consumer(&self) -> thread::JoinHandle<Result<usize, Errno>> {
        let (k, r, chid) = (self.k.clone(), self.r, self.chid);
        thread::spawn(move || {
            let c = k.thread_attach(r, 10).unwrap();
            let mut arena = [0u8; BUFSZ];
            let mut hdrs = [AsyncGetHeader::default(); 1];
            let n = c.msg_receive_async(chid, &mut arena, &mut hdrs);
            if n.is_ok() {
                assert_eq!(n, Ok(1));
                assert_eq!(hdrs[0].err, 0);
                assert_eq!(&arena[..hdrs[0].len as usize], MSG, "the message's bytes");
            }
            n
        })
    }

    /// Waits (yielding) until S has triggered, then destroys R's channel.
    fn destroy_after_trigger(&self) {
        while self.k.process_counters(self.s.pid).unwrap().async_triggers == 0 {
            thread::yield_now();
        }
        self.srv.channel_destroy(self.chid).unwrap();
    }

    /// Detaches the connection (destroying the channel first unless `destroyed`) and checks
    /// every object made in the model is freed.
    fn finish(self, destroyed: bool) {
        if !destroyed {
            self.srv.channel_destroy(self.chid).unwrap();
        }
        self.snd.connect_detach(self.coid).unwrap();
        let (k, start) = (self.k.clone(), self.start);
        drop(self);
        assert_freed(&k, start);
    }
}

static COVER_FLUSH: Coverage = Coverage::new(&[
    "message taken before the flush first looked",
    "message taken after the flush first looked",
    "flush waited on the progress word and looked again",
]);

/// A consumer takes the message: the flush returns true, and a flush that slept is woken (a
/// lost wake-up is a loom deadlock).
#[test]
fn flush_returns_once_the_receiver_took_the_message() {
    model(|| {
        let m = Setup::new();
        let producer = m.spawn_producer();
        let consumer = m.spawn_consumer();
        let (ok, first) = producer.join().unwrap();
        assert_eq!(
            consumer.join().unwrap(),
            Ok(1),
            "the consumer gets the message"
        );
        assert!(ok, "the flush returns true: the message was taken");
        assert_eq!(m.q.flags() & AQ_DEAD, 0, "the queue is alive");
        assert_eq!(m.q.counters(), (0, 1, 1), "head == tail");
        COVER_FLUSH.hit(if first.ready { 0 } else { 1 });
        if first.looks > 1 {
            // Only a wait on the progress word makes it look again (no AQ_DEAD here).
            COVER_FLUSH.hit(2);
        }
        m.finish(false);
    });
    COVER_FLUSH.check();
}

static COVER_DEAD: Coverage = Coverage::new(&[
    "destroyed before the flush first looked",
    "destroyed after the flush first looked (it slept, or saw the flag on its way)",
]);

/// Nobody receives; the receiver's process destroys the channel once the producer has
/// triggered: the flush returns false, the queue is dead, the message was never taken, and the
/// connection's trigger now fails with EBADF.
#[test]
fn flush_fails_when_the_channel_is_destroyed_while_waiting() {
    model(|| {
        let m = Setup::new();
        let producer = m.spawn_producer();
        m.destroy_after_trigger();
        let (ok, first) = producer.join().unwrap();
        assert!(!ok, "the flush fails: the channel is gone");
        assert_ne!(m.q.flags() & AQ_DEAD, 0, "the queue is marked dead");
        assert_eq!(m.q.counters(), (0, 0, 1), "the message was never taken");
        assert_eq!(m.snd.msg_send_async(m.coid), Err(Errno::EBADF));
        assert!(!first.ready);
        COVER_DEAD.hit(if first.dead { 0 } else { 1 });
        m.finish(true);
    });
    COVER_DEAD.check();
}

static COVER_RACE: Coverage = Coverage::new(&[
    "taken, then destroyed: flush true",
    "destroyed first: consumer and flush both fail",
]);

/// A consumer races the destroy (once the producer has triggered). Returns whether the flush
/// failed although the consumer had taken the message before the channel went.
fn flush_racing_receive_and_destroy() -> bool {
    let m = Setup::new();
    let producer = m.spawn_producer();
    let consumer = m.spawn_consumer();
    m.destroy_after_trigger();
    let (ok, _) = producer.join().unwrap();
    let got = consumer.join().unwrap();
    assert_ne!(m.q.flags() & AQ_DEAD, 0, "the channel was destroyed");
    let (_, head, tail) = m.q.counters();
    assert_eq!(tail, 1);
    let mut taken_but_failed = false;
    match got {
        Ok(n) => {
            assert_eq!(n, 1);
            assert_eq!(head, 1, "taken once");
            if ok {
                COVER_RACE.hit(0);
            } else {
                taken_but_failed = true;
            }
        }
        Err(e) => {
            assert!(
                e == Errno::ESRCH || e == Errno::EBADF,
                "the receive can only find the channel gone: {e:?}"
            );
            assert_eq!(head, 0, "never taken");
            assert!(!ok, "the flush cannot succeed: nobody took the message");
            COVER_RACE.hit(1);
        }
    }
    m.finish(true);
    taken_but_failed
}

/// A consumer races the destroy: the flush returns true only if the consumer got the message
/// (`head` moved), false only if the queue is dead; the message is taken at most once. (The
/// flush may also return false after a take that came before the destroy: see the next model.)
#[test]
fn flush_racing_receive_and_destroy_agrees_with_the_receiver() {
    model(|| {
        flush_racing_receive_and_destroy();
    });
    COVER_RACE.check();
}

/// Stricter: a message the receiver took *before* the channel was destroyed is flushed, so the
/// flush must return true. It failed while `wait_until` could evaluate `ready()` (not yet
/// taken), then see `AQ_DEAD` set by a destroy that came after the take, and return false
/// (asyncmsg's flush then reported EBADF for a delivered message); `wait_until` now re-checks
/// `ready()` once `AQ_DEAD` is seen (the flag's Acquire load orders the take before the
/// re-check).
#[test]
fn flush_of_a_message_taken_before_the_destroy_succeeds() {
    model(|| {
        assert!(
            !flush_racing_receive_and_destroy(),
            "the receiver took the message before the channel went, yet the flush failed"
        );
    });
}
