//! The kernel's trace events (`kernel_sim::trace`): what known scenarios emit, in order, with
//! the fields the recorders rely on (pids and tids, states with their peers, the exchange,
//! pulse and batch ids that tie one flow's events together).
//!
//! A [`Collector`] layer records every event with its fields. `tracing`'s default subscriber
//! is per thread, so every thread of a scenario (the test thread and those it spawns) installs
//! the same [`Dispatch`] ([`traced`]), and they all record into one list, in the order the
//! events were emitted.
#![cfg(not(loom))]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use support::*;
use tracing::field::{Field, Visit};
use tracing::Dispatch;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

// ------------------------------------------------------------------ the collector

/// A field's value as recorded.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    I(i64),
    U(u64),
    S(String),
    B(bool),
}

/// One event: its target and level, and its fields by name.
#[derive(Clone, Debug)]
struct Ev {
    target: String,
    level: tracing::Level,
    fields: BTreeMap<String, Val>,
}

impl Ev {
    fn s(&self, name: &str) -> &str {
        match self.fields.get(name) {
            Some(Val::S(s)) => s,
            other => panic!("{name} is not a string in {self:?}: {other:?}"),
        }
    }

    fn i(&self, name: &str) -> i64 {
        match self.fields.get(name) {
            Some(Val::I(v)) => *v,
            Some(Val::U(v)) => i64::try_from(*v).expect("fits"),
            other => panic!("{name} is not a number in {self:?}: {other:?}"),
        }
    }

    fn u(&self, name: &str) -> u64 {
        match self.fields.get(name) {
            Some(Val::U(v)) => *v,
            Some(Val::I(v)) => u64::try_from(*v).expect("not negative"),
            other => panic!("{name} is not a number in {self:?}: {other:?}"),
        }
    }

    fn what(&self) -> &str {
        self.s("what")
    }

    /// Whether the event is of thread `pid`/`tid`.
    fn of(&self, pid: i32, tid: i32) -> bool {
        self.i("pid") == i64::from(pid) && self.i("tid") == i64::from(tid)
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, Val>);

impl Visit for Fields<'_> {
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), Val::I(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), Val::U(v));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), Val::B(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().into(), Val::S(v.into()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().into(), Val::S(format!("{v:?}")));
    }
}

/// Records every event (of the `qnx::` targets) into a shared list; with `listing` set, also
/// takes the kernel's snapshot in every `qnx::call` event, as a step mode does (which needs
/// the kernel lock: the call events must come outside it).
#[derive(Clone, Default)]
struct Collector {
    events: Arc<Mutex<Vec<Ev>>>,
    listing: Arc<Mutex<Option<Kernel>>>,
    listings: Arc<Mutex<usize>>,
}

impl<S: tracing::Subscriber> Layer<S> for Collector {
    fn on_event(&self, event: &tracing::Event<'_>, _cx: Context<'_, S>) {
        let meta = event.metadata();
        if !meta.target().starts_with("qnx::") {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let ev = Ev {
            target: meta.target().into(),
            level: *meta.level(),
            fields,
        };
        if ev.target == "qnx::call" {
            let k = self.listing.lock().unwrap().clone();
            if let Some(k) = k {
                let _ = k.snapshot();
                *self.listings.lock().unwrap() += 1;
            }
        }
        self.events.lock().unwrap().push(ev);
    }
}

impl Collector {
    fn dispatch(&self) -> Dispatch {
        Dispatch::new(tracing_subscriber::registry().with(self.clone()))
    }

    fn events(&self) -> Vec<Ev> {
        self.events.lock().unwrap().clone()
    }
}

/// Runs `f` with `d` as the calling thread's subscriber. Every thread of a scenario runs under
/// it from its start (the test thread sets it as its default for the whole test): a callsite
/// first reached in a thread without it, while it is the only dispatcher alive, would have its
/// interest cached as "never" (`tracing` asks only that thread's default then).
fn traced<R>(d: &Dispatch, f: impl FnOnce() -> R) -> R {
    // (And, should a thread of the scenario run without it, the callsites stay live anyway.)
    kernel_sim::trace::keep_callsites_live();
    tracing::dispatcher::with_default(d, f)
}

/// The position of the first event from `from` on that `pred` accepts; panics naming `what`.
fn find(evs: &[Ev], from: usize, what: &str, pred: impl Fn(&Ev) -> bool) -> usize {
    evs.iter()
        .skip(from)
        .position(pred)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no {what} from event {from} on in {evs:#?}"))
}

fn is(e: &Ev, target: &str, what: &str) -> bool {
    e.target == target && e.what() == what
}

fn call(e: &Ev, what: &str, name: &str) -> bool {
    is(e, "qnx::call", what) && e.s("call") == name
}

fn state(e: &Ev, name: &str) -> bool {
    is(e, "qnx::state", "state") && e.s("state") == name
}

// ------------------------------------------------------------------ the scenarios

/// Send, receive, reply: the client's MsgSend (entered, sent, REPLY-blocked on the server),
/// the server's receive and reply of the same exchange, the client's exit with the status.
#[test]
fn srr_exchange_is_one_flow_from_send_to_reply() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let client = k.thread_attach(cli, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = client
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let (stid, ctid) = (server.tid(), client.tid());
    let rcvid = std::thread::scope(|s| {
        let d = &d;
        let h = s.spawn(move || {
            traced(d, || {
                let mut buf = [0u8; 16];
                let rcvid = server.msg_receive(chid, &mut buf, None).unwrap();
                assert_eq!(&buf[..4], b"ping");
                server.msg_reply(rcvid, 42, b"pong").unwrap();
                rcvid
            })
        });
        wait_receive_blocked(&k, srv.pid, stid);
        traced(d, || {
            let mut r = [0u8; 8];
            assert_eq!(client.msg_send(coid, b"ping", &mut r), Ok(42));
            assert_eq!(&r[..4], b"pong");
        });
        h.join().unwrap()
    });
    let evs = col.events();
    let mine = |e: &Ev| e.of(cli.pid, ctid);
    let theirs = |e: &Ev| e.of(srv.pid, stid);

    // The server: enters MsgReceive, RECEIVE-blocks on its channel.
    let r_enter = find(&evs, 0, "MsgReceive enter", |e| {
        theirs(e) && call(e, "enter", "MsgReceive")
    });
    let r_block = find(&evs, r_enter, "RECEIVE", |e| {
        theirs(e) && state(e, "RECEIVE")
    });
    assert_eq!(evs[r_block].i("chid"), i64::from(chid));
    assert_eq!(evs[r_block].i("peer_pid"), 0);

    // The client: enters, sends to the waiting server, goes straight to REPLY-blocked.
    let enter = find(&evs, 0, "MsgSend enter", |e| {
        mine(e) && call(e, "enter", "MsgSend")
    });
    assert_eq!(
        evs[enter].i("coid"),
        i64::from(coid),
        "MsgSend's enter names its coid"
    );
    let send = find(&evs, enter, "send", |e| {
        mine(e) && is(e, "qnx::msg", "send")
    });
    let x = evs[send].u("exchange");
    assert_ne!(x, 0);
    assert_eq!(evs[send].i("peer_pid"), i64::from(srv.pid));
    assert_eq!(evs[send].i("peer_tid"), i64::from(stid));
    assert_eq!(evs[send].i("chid"), i64::from(chid));
    assert_eq!(evs[send].u("bytes"), 4);
    // The message's first two bytes, as QNX's message type: "pi".
    assert_eq!(
        evs[send].i("msg_type"),
        i64::from(u16::from_ne_bytes([b'p', b'i']))
    );
    let reply_blocked = find(&evs, send, "client REPLY", |e| mine(e) && state(e, "REPLY"));
    assert_eq!(evs[reply_blocked].i("peer_pid"), i64::from(srv.pid));
    assert_eq!(evs[reply_blocked].i("chid"), i64::from(chid));

    // The server receives that exchange: the client's ids, the rcvid it got, the bytes.
    let recv = find(&evs, send, "receive", |e| is(e, "qnx::msg", "receive"));
    let e = &evs[recv];
    assert!(theirs(e), "{e:?}");
    assert_eq!(e.u("exchange"), x);
    assert_eq!(
        (e.i("peer_pid"), e.i("peer_tid")),
        (i64::from(cli.pid), i64::from(ctid))
    );
    assert_eq!(e.i("rcvid"), rcvid as i64);
    assert_eq!(e.u("bytes"), 4);
    find(&evs, recv, "server READY", |e| {
        theirs(e) && state(e, "READY")
    });
    let r_exit = find(&evs, recv, "MsgReceive exit", |e| {
        theirs(e) && call(e, "exit", "MsgReceive")
    });
    assert_eq!(evs[r_exit].i("result"), rcvid as i64);

    // It replies: the same exchange, the status and the bytes; the client is readied.
    let reply = find(&evs, r_exit, "reply", |e| is(e, "qnx::msg", "reply"));
    let e = &evs[reply];
    assert!(theirs(e), "{e:?}");
    assert_eq!(e.u("exchange"), x);
    assert_eq!(e.i("status"), 42);
    assert_eq!(e.i("rcvid"), rcvid as i64);
    assert_eq!(e.u("bytes"), 4);
    find(&evs, reply, "client READY", |e| {
        mine(e) && state(e, "READY")
    });
    let running = find(&evs, reply, "client RUNNING", |e| {
        mine(e) && state(e, "RUNNING")
    });
    let exit = find(&evs, running, "MsgSend exit", |e| {
        mine(e) && call(e, "exit", "MsgSend")
    });
    assert_eq!(evs[exit].i("result"), 42);
    assert!(evs.iter().all(|e| e.level == tracing::Level::TRACE));
}

/// Priority inheritance: a server at 10 receiving from a client at 15 runs at 15 ("inherit")
/// until it waits again ("restore"); a client queued while the server is busy boosts it.
#[test]
fn priority_inheritance_boost_and_restore() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let client = k.thread_attach(cli, 15).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = client
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let stid = server.tid();
    let ctid = client.tid();
    let round2 = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        let (d, k, round2) = (&d, &k, &round2);
        let h = s.spawn(move || {
            traced(d, || {
                let mut buf = [0u8; 16];
                // Waits again (restore) and times out.
                let wait_in_vain = |buf: &mut [u8]| {
                    arm(&server, _NTO_TIMEOUT_RECEIVE, Some(SHORT / 10));
                    assert_eq!(server.msg_receive(chid, buf, None), Err(Errno::ETIMEDOUT));
                };
                // Round 1: waiting when the client sends (inherit).
                let rcvid = receive(&server, chid, &mut buf, None).unwrap();
                server.msg_reply(rcvid, 0, b"").unwrap();
                wait_in_vain(&mut buf);
                round2.wait();
                // Round 2: busy when the client sends (boost), until it is SEND-blocked.
                wait_send_blocked(k, cli.pid, ctid);
                let rcvid = receive(&server, chid, &mut buf, None).unwrap();
                server.msg_reply(rcvid, 0, b"").unwrap();
                wait_in_vain(&mut buf);
            })
        });
        traced(d, || {
            let mut r = [0u8; 8];
            wait_receive_blocked(k, srv.pid, stid);
            send(&client, coid, b"one", &mut r).unwrap();
            round2.wait();
            send(&client, coid, b"two", &mut r).unwrap();
        });
        h.join().unwrap();
    });
    let evs = col.events();
    let prios: Vec<(u64, u64, String)> = evs
        .iter()
        .filter(|e| e.target == "qnx::prio" && e.of(srv.pid, stid))
        .map(|e| (e.u("prio"), e.u("base"), e.s("why").to_string()))
        .collect();
    let inherit = (15, 10, "inherit".to_string());
    let boost = (15, 10, "boost".to_string());
    let restore = (10, 10, "restore".to_string());
    assert_eq!(
        prios,
        vec![inherit, restore.clone(), boost, restore],
        "the server's priority changes"
    );
    // The inheritance comes with the receive of the client's message.
    let recv = find(&evs, 0, "receive", |e| is(e, "qnx::msg", "receive"));
    let inh = find(&evs, 0, "inherit", |e| e.target == "qnx::prio");
    assert!(recv < inh);
    // The boost comes with the client's SEND-block.
    let blocked = find(&evs, 0, "client SEND", |e| {
        e.of(cli.pid, ctid) && state(e, "SEND")
    });
    let boosted = find(&evs, blocked, "boost", |e| {
        e.target == "qnx::prio" && e.s("why") == "boost"
    });
    assert_eq!(evs[blocked].i("peer_pid"), i64::from(srv.pid));
    assert!(blocked < boosted);
}

/// A pulse queued, then received, carries one id in both events; so does one handed straight
/// to a waiting receiver. The kernel's pulses name pid 0.
#[test]
fn pulses_queued_and_received_share_their_id() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let client = k.thread_attach(cli, 12).unwrap();
    let chid = server.channel_create(_NTO_CHF_DISCONNECT).unwrap();
    let coid = client
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let stid = server.tid();
    std::thread::scope(|s| {
        traced(&d, || {
            // Queued: nobody receives yet.
            client.msg_send_pulse(coid, 12, 5, 77).unwrap();
            let p = receive_pulse(&server, chid);
            assert_eq!((p.code, p.value as i32), (5, 77));
        });
        // Straight to a waiting receiver.
        let dd = &d;
        let h = s.spawn(move || {
            let p = traced(dd, || receive_pulse(&server, chid));
            (p, server)
        });
        wait_receive_blocked(&k, srv.pid, stid);
        traced(&d, || client.msg_send_pulse(coid, 12, 6, 78).unwrap());
        let (p, server) = h.join().unwrap();
        assert_eq!(p.code, 6);
        // A kernel pulse: the disconnect.
        traced(&d, || {
            client.connect_detach(coid).unwrap();
            let p = receive_pulse(&server, chid);
            assert_eq!(p.code, _PULSE_CODE_DISCONNECT);
        });
    });
    let evs = col.events();
    for (code, queued_by) in [(5, cli.pid), (6, cli.pid), (_PULSE_CODE_DISCONNECT, 0)] {
        let q = find(&evs, 0, "queued", |e| {
            is(e, "qnx::pulse", "queued") && e.i("code") == i64::from(code)
        });
        let e = &evs[q];
        assert_eq!(e.i("pid"), i64::from(queued_by), "{e:?}");
        assert_eq!(
            (e.i("peer_pid"), e.i("chid")),
            (i64::from(srv.pid), i64::from(chid))
        );
        let id = e.u("pulse");
        let r = find(&evs, q, "received", |e| is(e, "qnx::pulse", "received"));
        let e = &evs[r];
        assert!(e.of(srv.pid, stid), "{e:?}");
        assert_eq!(e.u("pulse"), id, "code {code}");
        assert_eq!(e.i("code"), i64::from(code));
        assert_eq!(e.i("chid"), i64::from(chid));
        if code == 5 {
            assert_eq!(e.i("value"), 77);
        }
    }
    let ids: std::collections::BTreeSet<u64> = evs
        .iter()
        .filter(|e| is(e, "qnx::pulse", "queued"))
        .map(|e| e.u("pulse"))
        .collect();
    assert_eq!(ids.len(), 3, "three pulses, three ids");
}

/// An asyncmsg trigger and the receive that takes its batch carry the same batch id.
#[test]
fn asyncmsg_trigger_and_get_share_the_batch() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let s = k.thread_attach(p, 10).unwrap();
    let chid = s
        .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 64, 16, None)
        .unwrap();
    let q = Box::new(AsyncQueue::new(32));
    // SAFETY: `q` and `msgs` outlive the connection (detached below).
    let coid = unsafe { s.async_connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0, &q, -1) }.unwrap();
    let msgs: Vec<Vec<u8>> = (0..2u8).map(|i| vec![i; 8]).collect();
    let mut arena = vec![0u8; 64 * 16];
    let mut hdrs = vec![AsyncGetHeader::default(); 16];
    traced(&d, || {
        for round in 0..2 {
            for m in &msgs[..round + 1] {
                // SAFETY: one producer; `m` lives until the end of the test.
                unsafe {
                    q.push(MsgDesc {
                        iov: Iov::from_slice(m),
                        parts: 0,
                    })
                }
                .unwrap();
            }
            assert_eq!(s.msg_send_async(coid), Ok(round as u32 + 1));
            assert_eq!(
                s.msg_receive_async(chid, &mut arena, &mut hdrs),
                Ok(round + 1)
            );
        }
    });
    s.connect_detach(coid).unwrap();
    let evs = col.events();
    let mut batches = Vec::new();
    let mut at = 0;
    for round in 0..2 {
        let t = find(&evs, at, "trigger", |e| is(e, "qnx::async", "trigger"));
        let e = &evs[t];
        assert!(e.of(p.pid, s.tid()));
        assert_eq!(e.i("coid"), i64::from(coid));
        assert_eq!(e.u("messages"), round + 1);
        let batch = e.u("batch");
        let g = find(&evs, t, "get", |e| is(e, "qnx::async", "get"));
        let e = &evs[g];
        assert!(e.of(p.pid, s.tid()));
        assert_eq!(e.i("chid"), i64::from(chid));
        assert_eq!(e.u("messages"), round + 1);
        assert_eq!(e.u("batch"), batch);
        let exit = find(&evs, g, "exit", |e| call(e, "exit", "MsgReceiveAsync"));
        assert_eq!(evs[exit].i("result"), round as i64 + 1);
        batches.push(batch);
        at = g;
    }
    assert_ne!(batches[0], batches[1], "each trigger is a batch of its own");
}

/// A TimerTimeout that fires: the thread's timeout event between its RECEIVE-block and its
/// exit with ETIMEDOUT.
#[test]
fn kernel_timeout_fires() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    traced(&d, || {
        arm(&t, _NTO_TIMEOUT_RECEIVE, Some(SHORT / 10));
        let mut buf = [0u8; 8];
        assert_eq!(t.msg_receive(chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    });
    let evs = col.events();
    let me = |e: &Ev| e.of(p.pid, t.tid());
    let armed = find(&evs, 0, "TimerTimeout exit", |e| {
        me(e) && call(e, "exit", "TimerTimeout")
    });
    assert_eq!(evs[armed].i("result"), 0);
    let blocked = find(&evs, armed, "RECEIVE", |e| me(e) && state(e, "RECEIVE"));
    let fired = find(&evs, blocked, "fired", |e| is(e, "qnx::timer", "fired"));
    assert!(me(&evs[fired]));
    assert_eq!(evs[fired].s("kind"), "timeout");
    let running = find(&evs, fired, "RUNNING", |e| me(e) && state(e, "RUNNING"));
    let exit = find(&evs, running, "exit", |e| {
        me(e) && call(e, "exit", "MsgReceive")
    });
    assert_eq!(evs[exit].i("result"), -i64::from(Errno::ETIMEDOUT.0));
}

/// A process destroyed: its teardown steps in order (at DEBUG), its thread dead among them, a
/// client SEND-blocked on its channel released.
#[test]
fn process_teardown_steps() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    let srv = k.process_create().unwrap();
    let cli = k.process_create().unwrap();
    let server = k.thread_attach(srv, 10).unwrap();
    let client = k.thread_attach(cli, 10).unwrap();
    let chid = server.channel_create(0).unwrap();
    let coid = client
        .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let (stid, ctid) = (server.tid(), client.tid());
    std::thread::scope(|s| {
        let dd = &d;
        let h = s.spawn(move || {
            traced(dd, || {
                let mut r = [0u8; 8];
                send(&client, coid, b"x", &mut r)
            })
        });
        wait_send_blocked(&k, cli.pid, ctid);
        traced(&d, || k.process_destroy(srv).unwrap());
        assert!(h.join().unwrap().is_err());
    });
    drop(server);
    let evs = col.events();
    let steps: Vec<(usize, String)> = evs
        .iter()
        .enumerate()
        .filter(|(_, e)| e.target == "qnx::teardown")
        .map(|(i, e)| {
            assert_eq!(e.i("pid"), i64::from(srv.pid));
            assert_eq!(e.level, tracing::Level::DEBUG);
            (i, e.s("step").to_string())
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "timers",
            "interrupts",
            "channels",
            "threads",
            "connections",
            "asyncmsg",
            "done"
        ]
    );
    let at = |name: &str| steps.iter().find(|(_, s)| s == name).unwrap().0;
    // The client, SEND-blocked on the channel, is released while the channels go.
    let released = find(&evs, at("channels"), "client READY", |e| {
        e.of(cli.pid, ctid) && state(e, "READY")
    });
    assert!(released < at("threads"));
    // The server's thread ends with the threads.
    let dead = find(&evs, at("threads"), "server DEAD", |e| {
        e.of(srv.pid, stid) && state(e, "DEAD")
    });
    assert!(dead < at("connections"));
}

/// A subscriber may take the kernel's listing (its lock) in the call events, as a step mode
/// does: they are emitted outside the kernel lock.
#[test]
fn call_events_come_outside_the_kernel_lock() {
    let col = Collector::default();
    let d = col.dispatch();
    let _traced = tracing::dispatcher::set_default(&d);
    let k = Kernel::new(Config::default()).unwrap();
    *col.listing.lock().unwrap() = Some(k.clone());
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    // (Not a scoped thread: were it to deadlock, the test fails instead of hanging.)
    let h = std::thread::spawn(move || {
        traced(&d, || {
            let chid = t.channel_create(0).unwrap();
            let coid = t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            t.msg_send_pulse(coid, 10, 1, 1).unwrap();
            receive_pulse(&t, chid);
        })
    });
    let deadline = std::time::Instant::now() + DEADLINE;
    while !h.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(h.is_finished(), "a listing in a call event deadlocked");
    h.join().unwrap();
    // ChannelCreate, ConnectAttach, MsgSendPulse, TimerTimeout, MsgReceive: enter and exit.
    assert_eq!(*col.listings.lock().unwrap(), 10);
}
