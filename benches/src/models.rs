//! The round-trip models: a 64-byte request and a 64-byte reply between a client thread and a
//! server thread, each pinned by [`run_pair`].
//!
//! * [`Model::Srr`]: QNX Send/Receive/Reply through kernel-sim, client and server in two
//!   simulated processes. One round trip is the client's `MsgSend` (the kernel copies the
//!   message into the waiting server's buffer, readies it and blocks the client) and the
//!   server's `MsgReply` (copies the reply, readies the client) and next `MsgReceive` (blocks).
//! * [`Model::Futex`]: the floor for any blocking hand-off: two mailboxes, each a futex word and
//!   64 bytes; a side copies its message in, bumps the peer's word, `FUTEX_WAKE`s it, then
//!   `FUTEX_WAIT`s on its own word until the answer is there and copies it out. No spinning:
//!   a waiter checks its word once, then sleeps.

use crate::futex;
use crate::harness::{record_round_trips, run_pair, CtxSwitches, Placement, RoundTrips};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{Config, Kernel, ProcCounters};

/// Bytes in each request and each reply.
pub const MSG_SIZE: usize = 64;

/// The simulated priority both kernel threads run at.
pub const PRIO: i16 = 10;

const REQUEST: [u8; MSG_SIZE] = [0x5a; MSG_SIZE];
const REPLY: [u8; MSG_SIZE] = [0xa5; MSG_SIZE];

/// Which mechanism a run measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// MsgSend / MsgReceive / MsgReply through kernel-sim.
    Srr,
    /// Raw futex ping-pong carrying the same 64 bytes each way.
    Futex,
}

impl Model {
    /// The name shown in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Model::Srr => "SRR",
            Model::Futex => "futex",
        }
    }
}

/// Kernel counters of an SRR run: the two simulated processes' [`ProcCounters`] after the run.
/// They cover the whole run (set-up and warm-up included): the server's ChannelCreate and the
/// client's ConnectAttach are one kernel entry each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelCounters {
    /// The client process (its one thread calls ConnectAttach, then MsgSend per round trip).
    pub client: ProcCounters,
    /// The server process (ChannelCreate, then MsgReceive and MsgReply per round trip).
    pub server: ProcCounters,
    /// `Kernel::kernel_entries()`: all processes together.
    pub kernel_entries: u64,
}

/// One measured run of a model.
#[derive(Debug)]
pub struct PairRun {
    /// The model measured.
    pub model: Model,
    /// Where its threads ran.
    pub placement: Placement,
    /// The client's per-round-trip latencies.
    pub trips: RoundTrips,
    /// Context switches of the client thread over the whole run.
    pub client_csw: CtxSwitches,
    /// Context switches of the server thread over the whole run.
    pub server_csw: CtxSwitches,
    /// Whether the client's last reply held the server's bytes (a sanity check).
    pub reply_ok: bool,
    /// Kernel counters ([`Model::Srr`] only).
    pub kernel: Option<KernelCounters>,
}

/// Runs `warmup` + `n` round trips of `model` placed as `placement`, timing the last `n`.
pub fn run(model: Model, placement: Placement, warmup: u64, n: u64) -> PairRun {
    match model {
        Model::Srr => srr_round_trips(placement, warmup, n),
        Model::Futex => futex_round_trips(placement, warmup, n),
    }
}

/// The SRR model: a fresh kernel, a server process with one thread on a channel, a client
/// process with one thread connected to it by a side-channel coid.
///
/// # Panics
/// If a kernel call fails (the process aborts: see [`run_pair`]) or the kernel cannot be made.
pub fn srr_round_trips(placement: Placement, warmup: u64, n: u64) -> PairRun {
    let k = Kernel::new(Config::default()).expect("Kernel::new");
    let server_pid = k.process_create().expect("process_create (server)");
    let client_pid = k.process_create().expect("process_create (client)");
    let total = warmup + n;
    let (chid_tx, chid_rx) = crossbeam_channel::bounded::<i32>(1);
    let out = run_pair(
        placement,
        || {
            let ctx = k
                .thread_attach(server_pid, PRIO)
                .expect("thread_attach (server)");
            let chid = ctx.channel_create(0).expect("ChannelCreate");
            chid_tx.send(chid).expect("handing the chid over");
            let mut buf = [0u8; MSG_SIZE];
            for _ in 0..total {
                let rcvid = ctx.msg_receive(chid, &mut buf, None).expect("MsgReceive");
                ctx.msg_reply(rcvid, 0, &REPLY).expect("MsgReply");
            }
            buf == REQUEST
        },
        || {
            let ctx = k
                .thread_attach(client_pid, PRIO)
                .expect("thread_attach (client)");
            let chid = chid_rx.recv().expect("receiving the chid");
            let coid = ctx
                .connect_attach(0, server_pid.pid, chid, _NTO_SIDE_CHANNEL, 0)
                .expect("ConnectAttach");
            let mut reply = [0u8; MSG_SIZE];
            let trips = record_round_trips(warmup, n, || {
                ctx.msg_send(coid, &REQUEST, &mut reply).expect("MsgSend");
            });
            (trips, reply == REPLY)
        },
    );
    let kernel = KernelCounters {
        client: k.process_counters(client_pid.pid).expect("client counters"),
        server: k.process_counters(server_pid.pid).expect("server counters"),
        kernel_entries: k.kernel_entries(),
    };
    let (trips, client_ok) = out.client;
    PairRun {
        model: Model::Srr,
        placement,
        trips,
        client_csw: out.client_csw,
        server_csw: out.server_csw,
        reply_ok: client_ok && out.server,
        kernel: Some(kernel),
    }
}

/// A one-way mailbox: a futex word counting messages posted, and a 64-byte message.
/// Cache-line aligned so the two mailboxes of a ping-pong do not share a line.
#[derive(Debug, Default)]
#[repr(align(64))]
pub struct Mailbox {
    seq: AtomicU32,
    data: [AtomicU64; MSG_SIZE / 8],
}

impl Mailbox {
    /// Copies `msg` in, bumps the word, and `FUTEX_WAKE`s whoever sleeps on it (always: no
    /// "is anyone waiting" shortcut, as kernel-sim's wake does not take one either).
    pub fn post(&self, msg: &[u8; MSG_SIZE]) {
        for (d, s) in self.data.iter().zip(msg.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(s);
            d.store(u64::from_ne_bytes(w), Ordering::Relaxed);
        }
        self.seq.fetch_add(1, Ordering::Release);
        futex::wake(&self.seq, 1);
    }

    /// Waits (checking the word once, then `FUTEX_WAIT`) until the word moves past `seen`,
    /// copies the message out and returns the new word value.
    pub fn take(&self, seen: u32, out: &mut [u8; MSG_SIZE]) -> u32 {
        let mut s = self.seq.load(Ordering::Acquire);
        while s == seen {
            futex::wait(&self.seq, seen);
            s = self.seq.load(Ordering::Acquire);
        }
        for (d, w) in out.chunks_exact_mut(8).zip(self.data.iter()) {
            d.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        s
    }
}

/// The futex baseline: the same two pinned threads, the same 64 bytes each way, two futex
/// mailboxes instead of a kernel.
pub fn futex_round_trips(placement: Placement, warmup: u64, n: u64) -> PairRun {
    let to_server = Mailbox::default();
    let to_client = Mailbox::default();
    let total = warmup + n;
    let out = run_pair(
        placement,
        || {
            let mut buf = [0u8; MSG_SIZE];
            let mut seen = 0;
            for _ in 0..total {
                seen = to_server.take(seen, &mut buf);
                to_client.post(&REPLY);
            }
            buf == REQUEST
        },
        || {
            let mut reply = [0u8; MSG_SIZE];
            let mut seen = 0;
            let trips = record_round_trips(warmup, n, || {
                to_server.post(&REQUEST);
                seen = to_client.take(seen, &mut reply);
            });
            (trips, reply == REPLY)
        },
    );
    let (trips, client_ok) = out.client;
    PairRun {
        model: Model::Futex,
        placement,
        trips,
        client_csw: out.client_csw,
        server_csw: out.server_csw,
        reply_ok: client_ok && out.server,
        kernel: None,
    }
}
