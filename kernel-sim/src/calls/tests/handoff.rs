//! The wake hand-off (`Config::wake_handoff`): a busy server's replies to sleeping clients
//! leave their wake-ups to a readied client of at least their priority, which makes them when it
//! collects its own result, or when it is freed first.
//!
//! A thread asleep on its wait word is played with `WaitWord::pretend_asleep` (no OS thread).

use super::{done, Bench, Buf, Caller};
use crate::objects::thread::{CallResult, OWED_WAKES};
use crate::objects::KState;
use crate::pool::NIL;
use crate::region::Config;

/// A server, its channel, and `prios.len()` clients at those priorities, each in a process of
/// its own, connected to the channel.
struct Setup {
    b: Bench,
    server: Caller,
    chid: i32,
    clients: Vec<(Caller, i32)>,
}

fn setup(cfg: Config, prios: &[i32]) -> Setup {
    let b = Bench::with_config(cfg);
    let server = b.spawn(10);
    let chid = b.channel(server, 0);
    let clients = prios
        .iter()
        .map(|&p| {
            let c = b.spawn(p);
            let coid = b.attach(c, server, chid);
            (c, coid)
        })
        .collect();
    Setup {
        b,
        server,
        chid,
        clients,
    }
}

fn big() -> Config {
    Config {
        max_processes: 32,
        max_threads: 32,
        max_connections: 64,
        max_channels: 8,
        // (The server gets a scoid per client.)
        side_coids_per_process: 64,
        ..Config::small()
    }
}

impl Setup {
    /// Client `k` sends; the server receives it: REPLY-blocked. Returns the rcvid.
    fn received(&self, k: usize) -> crate::abi::RcvId {
        let (c, coid) = self.clients[k];
        self.b.exchange(
            self.server,
            self.chid,
            c,
            coid,
            Buf::new(b"q"),
            Buf::zeroed(4),
        )
    }

    /// Client `k` sends and stays queued (SEND-blocked).
    fn queued(&self, k: usize) {
        let (c, coid) = self.clients[k];
        assert_eq!(
            self.b.send(c, coid, Buf::new(b"q"), Buf::zeroed(4)).0,
            Ok(crate::calls::Step::Block)
        );
        assert!(matches!(self.b.state(c), KState::Send { .. }));
    }

    /// The common scene: clients 0 and 1 sent and were received (REPLY-blocked) and sleep,
    /// client 2 is queued behind them. Returns the two rcvids.
    fn held_two_asleep_one_queued(&self) -> (crate::abi::RcvId, crate::abi::RcvId) {
        let a = self.received(0);
        let b = self.received(1);
        self.queued(2);
        self.asleep(0, true);
        self.asleep(1, true);
        (a, b)
    }

    fn asleep(&self, k: usize, asleep: bool) {
        let i = self.clients[k].0.thread.index;
        self.b.region.waits()[i as usize].pretend_asleep(asleep);
    }

    fn index(&self, k: usize) -> u32 {
        self.clients[k].0.thread.index
    }

    /// The server replies to `rcvid`: the threads its call wakes itself.
    fn reply(&self, rcvid: crate::abi::RcvId) -> Vec<u32> {
        let (r, fx) = self.b.reply(self.server, rcvid, 7, Buf::new(b"r"));
        done(r);
        fx.wake.to_vec()
    }

    fn owed(&self, k: usize) -> Vec<u32> {
        let i = self.index(k);
        self.b.tables(|t| {
            t.threads
                .at(i)
                .owed
                .iter()
                .copied()
                .take_while(|&o| o != NIL)
                .collect()
        })
    }

    fn carrier(&self) -> u32 {
        self.b.tables(|t| *t.carrier)
    }

    /// Client `k` collects its result, as the kernel entry does: the wake-ups it carries.
    fn collect(&self, k: usize) -> (CallResult, Vec<u32>) {
        let i = self.index(k);
        let mut fx = crate::calls::Effects::default();
        let n = self.b.tables(|t| t.pay_owed_wakes(i, &mut fx));
        assert_eq!(n as usize, fx.wake.len());
        (self.b.collect(self.clients[k].0), fx.wake.to_vec())
    }
}

#[test]
fn a_busy_servers_reply_to_a_sleeping_client_is_woken_by_a_readied_client_when_it_collects() {
    let s = setup(Config::small(), &[10, 10, 10]);
    let (a, b) = s.held_two_asleep_one_queued();

    // The first reply: no carrier yet, the server wakes A itself; A is the carrier now.
    assert_eq!(s.reply(a), [s.index(0)]);
    assert_eq!(s.carrier(), s.index(0));
    // The second: B is asleep, the server has C queued, A is readied: A takes B's wake-up.
    assert_eq!(s.reply(b), Vec::<u32>::new(), "the server wakes nobody");
    assert_eq!(
        s.b.state(s.clients[1].0),
        KState::Ready,
        "B is readied all the same"
    );
    assert_eq!(s.b.result(s.clients[1].0), CallResult::Ok(7));
    assert_eq!(s.owed(0), [s.index(1)]);

    // A collects its reply: it wakes B, which is the carrier now.
    s.asleep(0, false);
    let (r, woken) = s.collect(0);
    assert_eq!(r, CallResult::Ok(7));
    assert_eq!(woken, [s.index(1)]);
    assert!(s.owed(0).is_empty(), "A carries nothing more");
    assert_eq!(s.carrier(), s.index(1));
    s.asleep(1, false);
    assert_eq!(s.collect(1), (CallResult::Ok(7), vec![]));
    assert_eq!(s.carrier(), NIL, "a thread that collected carries nothing");
}

#[test]
fn an_idle_server_wakes_its_clients_itself() {
    // Nothing queued behind B: the server will block next, so it wakes B at no cost to it.
    let s = setup(Config::small(), &[10, 10]);
    let a = s.received(0);
    let b = s.received(1);
    s.asleep(0, true);
    s.asleep(1, true);
    assert_eq!(s.reply(a), [s.index(0)]);
    assert_eq!(s.reply(b), [s.index(1)]);
    assert!(s.owed(0).is_empty());
}

#[test]
fn a_client_is_never_left_to_a_carrier_of_lower_priority() {
    let s = setup(Config::small(), &[10, 20, 10]);
    let (a, b) = s.held_two_asleep_one_queued();
    assert_eq!(s.reply(a), [s.index(0)]);
    // (The server runs at B's priority now, having received it: prio inheritance.)
    assert_eq!(s.reply(b), [s.index(1)], "B (20) outranks A (10)");
    assert!(s.owed(0).is_empty());
}

#[test]
fn a_client_found_awake_needs_no_wake_up_to_hand_off() {
    let s = setup(Config::small(), &[10, 10, 10]);
    let a = s.received(0);
    let b = s.received(1);
    s.queued(2);
    s.asleep(0, true);
    // B is spinning (or about to look at its word): it will see the change by itself.
    assert_eq!(s.reply(a), [s.index(0)]);
    assert_eq!(s.reply(b), [s.index(1)]);
    assert!(s.owed(0).is_empty());
}

#[test]
fn with_the_hand_off_off_every_server_wakes_its_clients() {
    let s = setup(
        Config {
            wake_handoff: false,
            ..Config::small()
        },
        &[10, 10, 10],
    );
    let (a, b) = s.held_two_asleep_one_queued();
    assert_eq!(s.reply(a), [s.index(0)]);
    assert_eq!(s.reply(b), [s.index(1)]);
    assert!(s.owed(0).is_empty());
}

#[test]
fn a_carrier_torn_down_before_it_collects_makes_the_wake_ups_it_carries() {
    let s = setup(Config::small(), &[10, 10, 10]);
    let (a, b) = s.held_two_asleep_one_queued();
    s.reply(a);
    assert_eq!(s.reply(b), Vec::<u32>::new());
    assert_eq!(s.owed(0), [s.index(1)]);
    // A's process is destroyed while A is readied, its reply not collected.
    let proc = s.clients[0].0.proc;
    let (r, fx) = s.b.run(|t, fx| {
        crate::calls::process::process_destroy(t, proc, fx).map(|()| crate::calls::Step::Done(0))
    });
    assert_eq!(r, Ok(crate::calls::Step::Done(0)));
    assert!(
        fx.wake.contains(&s.index(1)),
        "B is woken by A's end: {:?}",
        fx.wake
    );
    assert_ne!(s.carrier(), s.index(0), "a freed thread is no carrier");
    s.asleep(1, false);
    assert_eq!(s.collect(1).0, CallResult::Ok(7));
}

#[test]
fn a_carrier_takes_at_most_its_room_and_the_server_wakes_the_rest() {
    let n = OWED_WAKES + 2;
    let prios = vec![10; n + 1];
    let s = setup(big(), &prios);
    let rcvids: Vec<_> = (0..n).map(|k| s.received(k)).collect();
    s.queued(n);
    for k in 0..n {
        s.asleep(k, true);
    }
    assert_eq!(s.reply(rcvids[0]), [s.index(0)]);
    for (k, &r) in rcvids.iter().enumerate().skip(1) {
        let woken = s.reply(r);
        if k <= OWED_WAKES {
            assert!(woken.is_empty(), "reply {k}: carried");
        } else {
            assert_eq!(woken, [s.index(k)], "reply {k}: the carrier is full");
        }
    }
    assert_eq!(
        s.owed(0),
        (1..=OWED_WAKES).map(|k| s.index(k)).collect::<Vec<_>>()
    );
    for k in 0..n {
        s.asleep(k, false);
    }
    let (_, woken) = s.collect(0);
    assert_eq!(woken.len(), OWED_WAKES);
}

#[test]
fn a_client_is_never_left_to_a_carrier_of_another_linux_program() {
    // (A program stopped by SIGSTOP or a debugger would hold its wake-ups.)
    let s = setup(Config::small(), &[10, 10, 10]);
    let (pa, pb) = (s.clients[0].0.proc, s.clients[1].0.proc);
    s.b.tables(|t| {
        t.procs.get_mut(pa).unwrap().os_pid = 4001;
        t.procs.get_mut(pb).unwrap().os_pid = 4002;
    });
    let (a, b) = s.held_two_asleep_one_queued();
    assert_eq!(s.reply(a), [s.index(0)]);
    assert_eq!(s.reply(b), [s.index(1)], "A's program is not B's");
    assert!(s.owed(0).is_empty());
}
