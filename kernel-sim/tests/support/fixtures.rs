//! The worlds tests start from, and the client fixtures built on them:
//!
//! * [`World`]: a server process and a client process, each with a thread kept by the test
//!   thread, a channel and a coid to it ([`world`], [`World::with`] and [`Options`]).
//! * [`One`]: one process with a thread kept by the test thread, a channel and a coid to it.
//! * Client threads that send bounded by a timeout ([`World::sender`] and its variants), and
//!   the "client waits until the server is RECEIVE-blocked, then sends" step
//!   ([`send_when_receive_blocked`], [`World::spawn_sender_when_receiving`]), which makes a
//!   send go straight to REPLY-blocked so its timeout is in force from the start.
//!
//! The test thread's side of the same steps, "wait until that thread is SEND-blocked (or
//! RECEIVE-blocked), then go on", is [`super::SimThread::once_send_blocked`] and
//! [`super::SimThread::once_receive_blocked`].

use super::{
    arm, live, receive, send, spawn, spawn_scoped, teardown, wait_receive_blocked, Bg, Config,
    KResult, Kernel, MsgInfo, Pid, RcvId, SimThread, ThreadCtx, _NTO_SIDE_CHANNEL,
    _NTO_TIMEOUT_REPLY, LONG, SEND_REPLY,
};
use std::thread::Scope;
use std::time::Duration;

/// A simulated thread named by its ids (what `thread_info` takes), for a thread that waits on
/// another one it cannot borrow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its process.
    pub pid: i32,
    /// Its tid.
    pub tid: i32,
}

impl Peer {
    /// The thread behind `ctx`.
    pub fn of(ctx: &ThreadCtx) -> Peer {
        Peer {
            pid: ctx.pid(),
            tid: ctx.tid(),
        }
    }
}

/// The client's side of "the client waits until the server thread is RECEIVE-blocked, then
/// sends": waits until `server` is RECEIVE-blocked, arms a timeout of `ns` in the SEND and
/// REPLY states and sends on `coid`. The message is handed straight over, so the client goes
/// straight to REPLY-blocked and the bound is in force from the start (never spent in SEND).
pub fn send_when_receive_blocked(
    c: &ThreadCtx,
    k: &Kernel,
    server: Peer,
    coid: i32,
    ns: u64,
    smsg: &[u8],
    rmsg: &mut [u8],
) -> KResult<i64> {
    wait_receive_blocked(k, server.pid, server.tid);
    arm(c, SEND_REPLY, Some(ns));
    c.msg_send(coid, smsg, rmsg)
}

/// The same for a pulse: waits until `server` is RECEIVE-blocked, then `after` more, then
/// sends a pulse (priority 10, code 1, `value`) on `coid` (so the receive it ends is known to
/// have blocked, and to have stayed blocked that long).
pub fn pulse_when_receive_blocked(
    c: &ThreadCtx,
    k: &Kernel,
    server: Peer,
    after: Duration,
    coid: i32,
    value: i32,
) -> KResult<()> {
    wait_receive_blocked(k, server.pid, server.tid);
    std::thread::sleep(after);
    c.msg_send_pulse(coid, 10, 1, value)
}

// ------------------------------------------------------------------ a server and a client

/// What a client thread's MsgSend gave it: the result, and its reply buffer.
pub type Sent<const N: usize> = (KResult<i64>, [u8; N]);

/// How [`World::with`] builds its world.
#[derive(Clone, Debug)]
pub struct Options {
    /// The kernel's configuration.
    pub config: Config,
    /// The server channel's flags.
    pub chflags: u32,
    /// The priority of the server's thread.
    pub server_prio: i16,
    /// The priority of the client's thread.
    pub client_prio: i16,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            config: Config::default(),
            chflags: 0,
            server_prio: 10,
            client_prio: 10,
        }
    }
}

/// A server process (a thread in the test thread, one channel) and a client process (a thread
/// in the test thread, one side-channel coid to the server's channel).
pub struct World {
    /// The kernel.
    pub k: Kernel,
    /// Every pool's live count before the world was made ([`live`]).
    pub start: [u32; 6],
    /// The server process.
    pub srv: Pid,
    /// The client process.
    pub cli: Pid,
    /// The server's thread, kept by the test thread.
    pub server: ThreadCtx,
    /// The client's thread, kept by the test thread.
    pub client: ThreadCtx,
    /// The server's channel.
    pub chid: i32,
    /// The client process's coid to it (side channel).
    pub coid: i32,
}

/// A [`World`] with defaults but for the channel's flags.
pub fn world(chflags: u32) -> World {
    World::with(Options {
        chflags,
        ..Options::default()
    })
}

impl World {
    /// A world built as `o` says.
    pub fn with(o: Options) -> World {
        let k = Kernel::new(o.config).expect("kernel");
        let start = live(&k);
        let srv = k.process_create().unwrap();
        let cli = k.process_create().unwrap();
        let server = k.thread_attach(srv, o.server_prio).unwrap();
        let client = k.thread_attach(cli, o.client_prio).unwrap();
        let chid = server.channel_create(o.chflags).unwrap();
        let coid = client
            .connect_attach(0, srv.pid, chid, _NTO_SIDE_CHANNEL, 0)
            .unwrap();
        World {
            k,
            start,
            srv,
            cli,
            server,
            client,
            chid,
            coid,
        }
    }

    /// The server's thread, by its ids.
    pub fn server_peer(&self) -> Peer {
        Peer::of(&self.server)
    }

    /// A client thread at `prio` that attaches a coid of its own (sharing the client process's
    /// connection), sends `msg` bounded by [`LONG`] in SEND and REPLY, detaches, and returns
    /// the send's result and its reply buffer.
    pub fn client_sending<const N: usize>(&self, prio: i16, msg: &'static [u8]) -> Bg<Sent<N>> {
        self.spawn_client(prio, SEND_REPLY, LONG, msg)
    }

    /// A client thread at `prio` that arms `flags` for `ns` and sends `"req"` on a coid of
    /// its own (as [`World::client_sending`]).
    pub fn sender_with(&self, prio: i16, flags: u32, ns: u64) -> Bg<Sent<4>> {
        self.spawn_client(prio, flags, ns, b"req")
    }

    /// A client bounded by `ns` in the SEND and REPLY states.
    pub fn sender(&self, prio: i16, ns: u64) -> Bg<Sent<4>> {
        self.sender_with(prio, SEND_REPLY, ns)
    }

    /// A client whose timeout covers the REPLY state only: its SEND state ends when the
    /// server receives it, however late, so a short timeout cannot expire before that.
    pub fn replier(&self, prio: i16, ns: u64) -> Bg<Sent<4>> {
        self.sender_with(prio, _NTO_TIMEOUT_REPLY, ns)
    }

    fn spawn_client<const N: usize>(
        &self,
        prio: i16,
        flags: u32,
        ns: u64,
        msg: &'static [u8],
    ) -> Bg<Sent<N>> {
        let (srv_pid, chid) = (self.srv.pid, self.chid);
        spawn(&self.k, self.cli, prio, move |c| {
            let coid = c
                .connect_attach(0, srv_pid, chid, _NTO_SIDE_CHANNEL, 0)
                .unwrap();
            let mut r = [0u8; N];
            arm(c, flags, Some(ns));
            let st = c.msg_send(coid, msg, &mut r);
            c.connect_detach(coid).unwrap();
            (st, r)
        })
    }

    /// A client thread at `prio` that sends `"req"` on the client process's own coid
    /// ([`World::coid`], so a sibling's ConnectDetach of it reaches this thread's call), with
    /// the timeout `(flags, ns)`, or with no timeout at all when `None` (only what the test
    /// does ends the call: arm a [`super::Watchdog`]).
    pub fn sender_on_shared_coid(&self, prio: i16, timeout: Option<(u32, u64)>) -> Bg<Sent<4>> {
        let coid = self.coid;
        spawn(&self.k, self.cli, prio, move |c| {
            let mut r = [0u8; 4];
            if let Some((flags, ns)) = timeout {
                arm(c, flags, Some(ns));
            }
            let st = c.msg_send(coid, b"req", &mut r);
            (st, r)
        })
    }

    /// A client thread at `prio` in the scope `s` that waits until the server's thread (the
    /// test thread) is RECEIVE-blocked, then sends `msg` on the client process's coid bounded
    /// by `ns` in SEND and REPLY ([`send_when_receive_blocked`]). Returns the thread (its
    /// result: the send's and the reply buffer) and its tid.
    pub fn spawn_sender_when_receiving<'scope, const N: usize>(
        &'scope self,
        s: &'scope Scope<'scope, '_>,
        prio: i16,
        ns: u64,
        msg: &'static [u8],
    ) -> (SimThread<'scope, Sent<N>>, i32) {
        let (k, server, coid) = (&self.k, self.server_peer(), self.coid);
        spawn_scoped(s, k, self.cli, prio, move |t| {
            let mut r = [0u8; N];
            let st = send_when_receive_blocked(t, k, server, coid, ns, msg, &mut r);
            (st, r)
        })
    }

    /// Receives a message on the server's thread: (rcvid, its MsgInfo).
    pub fn take(&self) -> (RcvId, MsgInfo) {
        let mut b = [0u8; 8];
        let mut info = MsgInfo::default();
        let rcvid = receive(&self.server, self.chid, &mut b, Some(&mut info)).unwrap();
        assert!(rcvid > 0, "expected a message");
        (rcvid, info)
    }

    /// Receives the client's message on the server's thread; if that fails, destroys the
    /// channel first so that a client blocked without a bound is released before the test
    /// panics.
    pub fn receive_or_release(&self, buf: &mut [u8], info: Option<&mut MsgInfo>) -> RcvId {
        match receive(&self.server, self.chid, buf, info) {
            Ok(rcvid) => rcvid,
            Err(e) => {
                let _ = self.server.channel_destroy(self.chid);
                panic!("server receive failed: {e:?}");
            }
        }
    }

    /// A round trip from a fresh client thread still works: the server gets its `"ping"`
    /// and the client the server's `"pong"` and status.
    pub fn round_trip(&self) {
        let c = self.client_sending(10, b"ping");
        let mut buf = [0u8; 8];
        let rcvid = receive(&self.server, self.chid, &mut buf, None).unwrap();
        assert!(rcvid > 0);
        assert_eq!(&buf[..4], b"ping");
        self.server.msg_reply(rcvid, 5, b"pong").unwrap();
        assert_eq!(c.join(), (Ok(5), *b"pong"));
    }

    /// Ends the world: its threads leave, both processes go, and every pool must be back
    /// where it was before the world was made.
    pub fn finish(self) {
        let (srv, cli) = (self.srv, self.cli);
        self.finish_with(&[srv, cli]);
    }

    /// [`World::finish`] when the test already destroyed some of the processes: only `procs`
    /// go.
    pub fn finish_with(self, procs: &[Pid]) {
        let World {
            k,
            start,
            server,
            client,
            ..
        } = self;
        drop(client);
        drop(server);
        teardown(&k, procs, start);
    }

    /// [`World::finish`], detaching the client's coid first (it must still be attached).
    pub fn detach_and_finish(self) {
        self.client.connect_detach(self.coid).unwrap();
        self.finish();
    }
}

// ------------------------------------------------------------------ one process

/// One process with a thread (kept by the test thread), a channel and a side-channel coid to
/// it: a server that is its own client, or a target for timer and event pulses.
pub struct One {
    /// The kernel.
    pub k: Kernel,
    /// Every pool's live count before the process was made ([`live`]).
    pub start: [u32; 6],
    /// The process.
    pub p: Pid,
    /// Its thread, kept by the test thread.
    pub t: ThreadCtx,
    /// Its channel.
    pub chid: i32,
    /// Its coid to the channel.
    pub coid: i32,
}

/// A [`One`] in a fresh kernel with the default configuration.
pub fn one() -> One {
    one_with(Config::default())
}

/// A [`One`] in a fresh kernel configured by `cfg`.
pub fn one_with(cfg: Config) -> One {
    one_on(&Kernel::new(cfg).expect("kernel"))
}

/// A [`One`] in the kernel `k` (which the test made itself).
pub fn one_on(k: &Kernel) -> One {
    let k = k.clone();
    let start = live(&k);
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let coid = t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    One {
        k,
        start,
        p,
        t,
        chid,
        coid,
    }
}

impl One {
    /// A message round trip between a fresh thread of the process and this one still works.
    pub fn round_trip(&self) {
        let coid = self.coid;
        let bg = spawn(&self.k, self.p, 10, move |c| {
            let mut r = [0u8; 2];
            (send(c, coid, b"rt", &mut r), r)
        });
        let mut b = [0u8; 4];
        let rcvid = receive(&self.t, self.chid, &mut b, None).unwrap();
        assert!(rcvid > 0);
        self.t.msg_reply(rcvid, 9, b"ok").unwrap();
        assert_eq!(bg.join(), (Ok(9), *b"ok"));
    }

    /// Receives pulses until none is queued on the channel; returns how many.
    pub fn drain(&self) -> usize {
        super::drain_pulses(&self.t, self.chid)
    }

    /// Ends the process (its thread leaves first); every pool must be back where it was.
    pub fn finish(self) {
        let One { k, start, p, t, .. } = self;
        drop(t);
        teardown(&k, &[p], start);
    }
}
