//! Conformance across Linux processes (issue 13, point 6): SRR, pulse, notification, timeout
//! and asyncmsg checks of the conf_* suites (asyncmsg between programs also in
//! shared_kernel.rs, a bad buffer, and procnto-sim/tests/asyncmsg_programs.rs, through
//! userlib's library: callbacks, order, EMSGSIZE, kills), run with server and client in
//! different programs on one shared kernel. With shared_conformance2.rs, at least half of
//! each suite's tests have a twin across programs: conf_srr 17 of 28, conf_pulse 10 of 10,
//! conf_notifications 20 of 25, conf_timeouts 17 of 27 (of the rest, most make sense in one
//! process only: argument and clock checks, signals, a thread's own events; conf_srr's
//! vectored forms are not mirrored yet). The parent (the test) makes the kernel
//! in a memory file; a child is this same binary re-run in a role (support/procs.rs) that maps
//! it and joins as the process whose pid is its Linux pid. Every value and errno asserted is
//! the one the same check gives within one process (the in-process test it mirrors is named
//! in each test's comment). A child reports what it saw as lines (`tell_parent`), a kernel call's
//! result written `ok:VALUE` or the errno's name, so a difference shows as the two lines.
//!
//! Bounds: every blocking kernel call is armed with TimerTimeout (LONG, unless the timeout is
//! what is tested), every line is awaited at most DEADLINE, every child is killed and reaped
//! on every exit path (`Child`'s drop), and a test that fails while a thread of ours may be
//! blocked on a child without a bound (REPLY-blocked on an unblock channel) first tears the
//! child's processes down in the kernel, releasing ours with ESRCH ([`ReapOnPanic`]). Region
//! files live in a temporary directory removed on every exit path.
#![cfg(not(loom))]

mod support;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::sigev::*;
use support::*;

const SIDE: u32 = _NTO_SIDE_CHANNEL;
const MS: u64 = 1_000_000;

fn pattern(i: usize) -> u8 {
    (i * 7 + 3) as u8
}

// ================================================================== the children's side

/// Maps the shared kernel at `path` and joins it as this program's process, with a thread at
/// `prio` (the calling OS thread).
fn join(path: &str, prio: i16) -> (Kernel, Pid, ThreadCtx) {
    let k = Kernel::open_shared(Path::new(path)).expect("open_shared");
    let p = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(p, prio).expect("thread_attach");
    (k, p, t)
}

/// Leaves the kernel as a QNX process ends: the thread, then the process.
fn leave(k: Kernel, p: Pid, t: ThreadCtx) {
    drop(t);
    k.process_destroy(p).expect("process_destroy");
}

/// MsgReceive bounded by LONG that waits on while nothing comes (for a server loop whose
/// parent may pause between commands); other errors end the child.
fn serve(t: &ThreadCtx, chid: i32, buf: &mut [u8], mut info: Option<&mut MsgInfo>) -> RcvId {
    loop {
        match receive(t, chid, buf, info.as_deref_mut()) {
            Ok(r) => return r,
            Err(Errno::ETIMEDOUT) => continue,
            Err(e) => panic!("MsgReceive on chid {chid}: {e:?}"),
        }
    }
}

/// The commands the SRR server understands (first byte of a message).
mod cmd {
    /// + i64 LE: MsgReply with that status and no data.
    pub const STATUS: u8 = b'S';
    /// + i32 LE: MsgError with that errno.
    pub const ERROR: u8 = b'E';
    /// + u32 LE n: MsgReply with n bytes of the pattern, status n.
    pub const REPLY_N: u8 = b'N';
    /// Tell the parent the MsgInfo of the message (and whether MsgInfo(rcvid) gives the same);
    /// reply with status = the bytes after the command that match the pattern.
    pub const INFO: u8 = b'I';
    /// The first time, MsgError(ERESTART); the re-sent message: reply with status 2 and
    /// "<MsgReply to the first rcvid> <whether the sender is the same> <the message>".
    pub const RESTART: u8 = b'A';
    /// Tell "held BASE CUR" (the receiving thread's priorities), keep the message until the
    /// helper thread gets [`RELEASE`] on the control channel, then reply with status = the
    /// thread's priority then.
    pub const HOLD: u8 = b'H';
    /// Reply with status = the receiving thread's current priority.
    pub const PRIORITY: u8 = b'P';
    /// (Control channel) release the held message.
    pub const RELEASE: u8 = b'G';
    /// Reply and end.
    pub const QUIT: u8 = b'Q';
}

/// SRR server: a thread receiving commands on `chid` into a 64-byte buffer, and a helper
/// thread of the same process receiving on a control channel.
fn srr_server(path: &str) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(0).expect("ChannelCreate");
    let ctl = t.channel_create(0).expect("ChannelCreate");
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (tid_tx, tid_rx) = mpsc::channel::<i32>();
    let k2 = k.clone();
    let helper = std::thread::spawn(move || {
        let h = k2.thread_attach(p, 10).expect("thread_attach");
        tid_tx.send(h.tid()).expect("helper tid");
        loop {
            let mut b = [0u8; 8];
            let rcvid = serve(&h, ctl, &mut b, None);
            h.msg_reply(rcvid, 0, b"")
                .expect("MsgReply on the control channel");
            if b[0] != cmd::RELEASE {
                break;
            }
            release_tx.send(()).expect("release");
        }
    });
    let htid = tid_rx.recv_timeout(DEADLINE).expect("the helper's tid");
    tell_parent(&format!("ready {} {htid} {chid} {ctl}", t.tid()));
    let mut first: Option<(RcvId, MsgInfo)> = None;
    loop {
        let mut buf = [0u8; 64];
        let mut info = MsgInfo::default();
        let rcvid = serve(&t, chid, &mut buf, Some(&mut info));
        assert!(rcvid > 0, "only messages come to the SRR server");
        let n = info.msglen as usize;
        let body = &buf[1..n.max(1)];
        match buf[0] {
            cmd::STATUS => {
                let st = i64::from_le_bytes(body[..8].try_into().unwrap());
                t.msg_reply(rcvid, st, b"").expect("MsgReply");
            }
            cmd::ERROR => {
                let e = i32::from_le_bytes(body[..4].try_into().unwrap());
                t.msg_error(rcvid, Errno(e)).expect("MsgError");
            }
            cmd::REPLY_N => {
                let len = u32::from_le_bytes(body[..4].try_into().unwrap()) as usize;
                let data: Vec<u8> = (0..len).map(pattern).collect();
                t.msg_reply(rcvid, len as i64, &data).expect("MsgReply");
            }
            cmd::INFO => {
                let again = t.msg_info(rcvid);
                let matched = body
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| b == pattern(i))
                    .count();
                tell_parent(&format!(
                    "info {} {} {} {} {} {:#x} {:#x} {} {} {} {} {} {}",
                    info.nd,
                    info.srcnd,
                    info.pid,
                    info.tid,
                    info.chid,
                    info.scoid,
                    info.coid,
                    info.priority,
                    info.flags,
                    info.msglen,
                    info.srcmsglen,
                    info.dstmsglen,
                    again == Ok(info)
                ));
                t.msg_reply(rcvid, matched as i64, b"").expect("MsgReply");
            }
            cmd::RESTART => match first.take() {
                None => {
                    first = Some((rcvid, info));
                    t.msg_error(rcvid, Errno::ERESTART).expect("MsgError");
                }
                Some((stale, was)) => {
                    let late = t.msg_reply(stale, 1, b"no");
                    let same = (was.pid, was.tid, was.coid, was.msglen, was.srcmsglen)
                        == (info.pid, info.tid, info.coid, info.msglen, info.srcmsglen);
                    let out = format!(
                        "{} {same} {}",
                        done(late),
                        String::from_utf8_lossy(&buf[..n])
                    );
                    t.msg_reply(rcvid, 2, out.as_bytes()).expect("MsgReply");
                }
            },
            cmd::HOLD => {
                let (base, cur) = t.priority().expect("priority");
                tell_parent(&format!("held {base} {cur}"));
                if release_rx.recv_timeout(DEADLINE).is_ok() {
                    let (_, now) = t.priority().expect("priority");
                    t.msg_reply(rcvid, i64::from(now), b"").expect("MsgReply");
                } else {
                    t.msg_error(rcvid, Errno::ETIMEDOUT).expect("MsgError");
                }
            }
            cmd::PRIORITY => {
                let (_, cur) = t.priority().expect("priority");
                t.msg_reply(rcvid, i64::from(cur), b"").expect("MsgReply");
            }
            cmd::QUIT => {
                t.msg_reply(rcvid, 0, b"").expect("MsgReply");
                break;
            }
            other => panic!("unknown command {other}"),
        }
    }
    let own = t
        .connect_attach(0, 0, ctl, SIDE, 0)
        .expect("ConnectAttach to our control channel");
    send(&t, own, &[cmd::QUIT], &mut []).expect("ending the helper");
    helper.join().expect("the helper thread");
    leave(k, p, t);
}

/// Pulse and message order: waits for the go message (u32 LE n) on a second channel while the
/// parent queues pulses and messages on the first, then receives n of them and tells the
/// parent, for each, "p<code>=<value>/<scoid>@<priority>" (a pulse) or
/// "<message>/<scoid>@<priority>" (priority: the receiving thread's after the receive).
fn pulse_drain(path: &str) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(0).expect("ChannelCreate");
    let go = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid} {go}", t.tid()));
    let mut b = [0u8; 8];
    let rcvid = receive(&t, go, &mut b, None).expect("the go message");
    let n = u32::from_le_bytes(b[..4].try_into().unwrap());
    t.msg_reply(rcvid, 0, b"").expect("MsgReply");
    let mut order = Vec::new();
    for _ in 0..n {
        let mut buf = [0u8; 64];
        let mut info = MsgInfo::default();
        let entry = match receive(&t, chid, &mut buf, Some(&mut info)) {
            Ok(0) => {
                let pl = Pulse::from_bytes(&buf).expect("pulse bytes");
                format!("p{}={}/{:#x}", pl.code, pl.value_int(), pl.scoid)
            }
            Ok(rcvid) => {
                let label = String::from_utf8_lossy(&buf[..info.msglen as usize]).into_owned();
                t.msg_reply(rcvid, 0, b"").expect("MsgReply");
                format!("{label}/{:#x}", info.scoid)
            }
            Err(e) => format!("{e:?}"),
        };
        let (_, cur) = t.priority().expect("priority");
        order.push(format!("{entry}@{cur}"));
    }
    let rest = poll(&t, chid, &mut [0u8; 64], None);
    tell_parent(&format!("order {} rest {}", order.join(" "), res(rest)));
    leave(k, p, t);
}

/// Pulses into receive buffers too small for them: one queued while the thread waits for the
/// go message on a second channel, then one handed straight to it, then a whole one.
fn short_pulse(path: &str) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(0).expect("ChannelCreate");
    let go = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid} {go}", t.tid()));
    let mut b = [0u8; 8];
    let rcvid = receive(&t, go, &mut b, None).expect("the go message");
    t.msg_reply(rcvid, 0, b"").expect("MsgReply");
    let mut short = [0u8; PULSE_SIZE - 1];
    let queued = receive(&t, chid, &mut short, None);
    let rest = poll(&t, chid, &mut [0u8; 64], None);
    tell_parent(&format!("queued {} {}", res(queued), res(rest)));
    let mut tiny = [0u8; 8];
    let direct = receive(&t, chid, &mut tiny, None);
    tell_parent(&format!("direct {}", res(direct)));
    let pl = receive_pulse(&t, chid);
    tell_parent(&format!(
        "next {} {} {:#x}",
        pl.code,
        pl.value_int(),
        pl.scoid
    ));
    leave(k, p, t);
}

/// A client whose message carries a SIGEV_PULSE event on a coid to its own channel: the main
/// thread (priority 7) owns the channel and receives the event pulses; a second thread
/// (priority 13) sends the event to the parent's server, waits for the first pulse, then sends
/// a second message, which only the parent's events end.
fn event_client(path: &str, spid: i32, schid: i32) {
    let (k, p, main) = join(path, 7);
    let cchid = main.channel_create(0).expect("ChannelCreate");
    let ccoid = main
        .connect_attach(0, 0, cchid, SIDE, 0)
        .expect("ConnectAttach to our channel");
    tell_parent(&format!("ready {} {cchid} {ccoid:#x}", main.tid()));
    let (next_tx, next_rx) = mpsc::channel::<()>();
    let k2 = k.clone();
    let sender = std::thread::spawn(move || {
        let c = k2.thread_attach(p, 13).expect("thread_attach");
        let coid = c
            .connect_attach(0, spid, schid, SIDE, 0)
            .expect("ConnectAttach to the server");
        let ev = SigEvent::pulse(ccoid, SIGEV_PULSE_PRIO_INHERIT, 5, 777);
        let st = send(&c, coid, &event_bytes(&ev), &mut []);
        tell_parent(&format!("sent {} {}", c.tid(), res(st)));
        let _ = next_rx.recv_timeout(DEADLINE);
        // Bounded far beyond the parent's deadline: only the parent's SIGEV_UNBLOCK event can
        // release it in time.
        arm(&c, SEND_REPLY, Some(SAFETY));
        let st = c.msg_send(coid, b"again", &mut []);
        tell_parent(&format!("sent-again {}", res(st)));
        // Stay (the rcvid names this thread) until the main thread has its pulses.
        let _ = next_rx.recv_timeout(DEADLINE);
        c.connect_detach(coid).expect("ConnectDetach");
    });
    for _ in 0..2 {
        let pl = receive_pulse(&main, cchid);
        let (base, cur) = main.priority().expect("priority");
        tell_parent(&format!(
            "event {} {} {:#x} {base} {cur}",
            pl.code,
            pl.value_int(),
            pl.scoid
        ));
        next_tx.send(()).expect("the sender");
    }
    sender.join().expect("the sender thread");
    leave(k, p, main);
}

/// Receives on its channel, telling "pulse CODE VALUE SCOID" for each pulse, until a message
/// comes: it replies and tells "bye".
fn timer_target(path: &str) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid}", t.tid()));
    loop {
        let mut buf = [0u8; 64];
        let rcvid = serve(&t, chid, &mut buf, None);
        if rcvid > 0 {
            t.msg_reply(rcvid, 0, b"").expect("MsgReply");
            break;
        }
        let pl = Pulse::from_bytes(&buf).expect("pulse bytes");
        tell_parent(&format!(
            "pulse {} {} {:#x}",
            pl.code,
            pl.value_int(),
            pl.scoid
        ));
    }
    tell_parent("bye");
    leave(k, p, t);
}

/// Arms a one-shot timer (10 ms) whose SIGEV_PULSE (priority 10, code 9, value 99) goes to
/// the parent's channel through a coid of ours; then waits for the parent's message on a
/// channel of ours and tells "timer FIRED REMAINING <TimerDestroy>".
fn timer_owner(path: &str, ppid: i32, pchid: i32) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(0).expect("ChannelCreate");
    let coid = t
        .connect_attach(0, ppid, pchid, SIDE, 0)
        .expect("ConnectAttach to the parent");
    let id = t
        .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::pulse(coid, 10, 9, 99)))
        .expect("TimerCreate");
    t.timer_settime(id, 0, 10 * MS, 0).expect("TimerSettime");
    tell_parent(&format!("armed {chid} {coid:#x}"));
    let mut b = [0u8; 8];
    let rcvid = receive(&t, chid, &mut b, None).expect("the parent's message");
    let info = t.timer_info(id);
    let gone = t.timer_destroy(id);
    t.msg_reply(rcvid, 0, b"").expect("MsgReply");
    match info {
        Ok(i) => tell_parent(&format!("timer {} {} {}", i.fired, i.remaining, done(gone))),
        Err(e) => tell_parent(&format!("timer {e:?}")),
    }
    leave(k, p, t);
}

/// What the holder does, told on its control channel (it replies first, then acts).
mod ctl {
    /// MsgReceive one message on the served channel and keep it: tell "held <message>".
    pub const HOLD: u8 = b'R';
    /// MsgReply to the held message: tell "late <MsgReply> <MsgInfo> <poll of the channel>".
    pub const LATE: u8 = b'L';
    /// Go back to priority 10 and receive a pulse on the served channel: tell "unblock CODE
    /// <value = held rcvid> <scoid = held scoid> BASE CUR <MsgInfo's _NTO_MI_UNBLOCK_REQ>".
    pub const UNBLOCK: u8 = b'U';
    /// MsgReply(77, "answer") to the held message: tell "answered <MsgReply> <poll>".
    pub const ANSWER: u8 = b'A';
    /// End.
    pub const QUIT: u8 = b'Q';
}

/// A server that receives on its channel (flags `flags`) only when told to, and then holds
/// what it received: the other side of the timeout tests.
fn holder(path: &str, flags: u32) {
    let (k, p, t) = join(path, 10);
    let chid = t.channel_create(flags).expect("ChannelCreate");
    let ctl = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid} {ctl}", t.tid()));
    let mut held: Option<(RcvId, MsgInfo)> = None;
    loop {
        let mut c = [0u8; 8];
        let rcvid = serve(&t, ctl, &mut c, None);
        t.msg_reply(rcvid, 0, b"")
            .expect("MsgReply on the control channel");
        match c[0] {
            ctl::HOLD => {
                let mut buf = [0u8; 64];
                let mut info = MsgInfo::default();
                match receive(&t, chid, &mut buf, Some(&mut info)) {
                    Ok(r) => {
                        held = Some((r, info));
                        let msg = String::from_utf8_lossy(&buf[..info.msglen as usize]);
                        tell_parent(&format!("held {msg}"));
                    }
                    Err(e) => tell_parent(&format!("held {e:?}")),
                }
            }
            ctl::LATE => {
                let (r, _) = held.take().expect("a held message");
                let late = t.msg_reply(r, 0, b"late");
                let info = t.msg_info(r).map(|_| 0);
                let rest = poll(&t, chid, &mut [0u8; 64], None);
                tell_parent(&format!("late {} {} {}", done(late), res(info), res(rest)));
            }
            ctl::UNBLOCK => {
                let (r, info) = held.expect("a held message");
                t.set_priority(10).expect("set_priority");
                let pl = receive_pulse(&t, chid);
                let (base, cur) = t.priority().expect("priority");
                let req = t.msg_info(r).map(|i| i.flags & _NTO_MI_UNBLOCK_REQ);
                tell_parent(&format!(
                    "unblock {} {} {} {base} {cur} {}",
                    pl.code,
                    pl.value_long() == r,
                    pl.scoid == info.scoid,
                    res(req)
                ));
            }
            ctl::ANSWER => {
                let (r, _) = held.take().expect("a held message");
                let answered = t.msg_reply(r, 77, b"answer");
                let rest = poll(&t, chid, &mut [0u8; 64], None);
                tell_parent(&format!("answered {} {}", done(answered), res(rest)));
            }
            _ => break,
        }
    }
    leave(k, p, t);
}

/// A client with two (shared) coids to the parent's channel: sends "hi" on the first, detaches
/// it, sends "one left" on the second, then ends its connection as `mode` says: "detach" (the
/// last coid), "destroy" (its process, coid still attached), "killed" (nothing: it waits to
/// be killed).
fn detacher(path: &str, spid: i32, schid: i32, mode: &str) {
    let (k, p, t) = join(path, 10);
    let a = t
        .connect_attach(0, spid, schid, SIDE, 0)
        .expect("ConnectAttach");
    let b = t
        .connect_attach(0, spid, schid, SIDE, 0)
        .expect("ConnectAttach");
    tell_parent(&format!("ready {a:#x} {b:#x}"));
    let hi = send(&t, a, b"hi", &mut []);
    let first = t.connect_detach(a);
    let left = send(&t, b, b"one left", &mut []);
    tell_parent(&format!("linked {} {} {}", res(hi), done(first), res(left)));
    match mode {
        "detach" => {
            let last = t.connect_detach(b);
            tell_parent(&format!("detached {}", done(last)));
            leave(k, p, t);
        }
        "destroy" => {
            drop(t);
            let r = k.process_destroy(p);
            tell_parent(&format!("destroyed {}", done(r)));
        }
        _ => std::thread::sleep(DEADLINE),
    }
}

/// ConnectAttach's refusals, from a program to the parent's: before the parent joined, to a
/// chid it does not have, to a pid that is no process; then a send blocked on the parent's
/// channel when the parent destroys it, and what the coid gives afterwards.
fn connector(path: &str, ppid: i32) {
    let (k, p, t) = join(path, 10);
    let before = t.connect_attach(0, ppid, 1, SIDE, 0);
    let chid = t.channel_create(0).expect("ChannelCreate");
    tell_parent(&format!("ready {} {chid} {}", t.tid(), res(before)));
    let mut b = [0u8; 4];
    let rcvid = receive(&t, chid, &mut b, None).expect("the parent's chid");
    t.msg_reply(rcvid, 0, b"").expect("MsgReply");
    let pchid = i32::from_le_bytes(b);
    let no_chid = t.connect_attach(0, ppid, pchid + 7, SIDE, 0);
    let chid0 = t.connect_attach(0, ppid, 0, SIDE, 0);
    let no_pid = t.connect_attach(0, i32::MAX, pchid, SIDE, 0);
    let coid = t.connect_attach(0, ppid, pchid, SIDE, 0);
    tell_parent(&format!(
        "attach {} {} {} {}",
        res(no_chid),
        res(chid0),
        res(no_pid),
        coid.is_ok()
    ));
    let coid = coid.expect("ConnectAttach to the parent's channel");
    let gone = send(&t, coid, b"wait", &mut []);
    let again = send(&t, coid, b"again", &mut []);
    let pulse = t.msg_send_pulse(coid, 10, 1, 1);
    let reattach = t.connect_attach(0, ppid, pchid, SIDE, 0);
    let detach = t.connect_detach(coid);
    tell_parent(&format!(
        "after {} {} {} {} {}",
        res(gone),
        res(again),
        done(pulse),
        res(reattach),
        done(detach)
    ));
    leave(k, p, t);
    tell_parent("left");
}

/// The asyncmsg messages of `hdrs` that arrived whole from `pid`'s `coid`, in order.
fn intact(arena: &[u8], hdrs: &[AsyncGetHeader], msgs: &[Vec<u8>], pid: i32, coid: i32) -> usize {
    hdrs.iter()
        .zip(msgs)
        .filter(|(h, m)| {
            let at = h.offset as usize;
            h.err == 0
                && h.info.pid == pid
                && h.info.coid == coid
                && arena.get(at..at + h.len as usize) == Some(&m[..])
        })
        .count()
}

static SIGNALLED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

extern "C" fn count_signal(_: i32) {
    SIGNALLED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// A client of the parent's server `spid`/`schid` that the parent signals (SIGUSR1, caught)
/// while it is REPLY-blocked: tells its Linux tid, then what its MsgSend returned and how many
/// times its handler ran by then.
fn signalled_client(path: &str, spid: i32, schid: i32) {
    // SAFETY: a zeroed sigaction is valid; we fill the handler and an empty mask. (It reaches
    // the kernel library's `sigaction`, which runs the handler outside the kernel.)
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let (k, p, t) = join(path, 10);
    let coid = t
        .connect_attach(0, spid, schid, SIDE, 0)
        .expect("ConnectAttach");
    tell_parent(&format!("tid {}", nix::unistd::gettid().as_raw()));
    let mut r = [0u8; 8];
    let sent = send(&t, coid, b"hello", &mut r);
    tell_parent(&format!(
        "sent {} handled {}",
        res(sent),
        SIGNALLED.load(std::sync::atomic::Ordering::SeqCst)
    ));
    leave(k, p, t);
}

/// asyncmsg to a channel of another program (the parent's `rpid`/`rchid`), with the queue in
/// the region: ten messages and one trigger; then the kernel's `'P'` notification on this
/// program's own channel once the receiver took them, and the queue's counters.
fn async_remote(path: &str, rpid: i32, rchid: i32) {
    let (k, p, t) = join(path, 10);
    let lib_chid = t.channel_create(_NTO_CHF_PRIVATE).expect("ChannelCreate");
    let notify = t
        .connect_attach(0, 0, lib_chid, SIDE, 0)
        .expect("ConnectAttach");
    let q = t.async_queue_alloc(32).expect("a queue in the region");
    q.set_flags(AQ_WANT_PULSE);
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 8 + usize::from(i)]).collect();
    // SAFETY: `q` and `msgs` outlive the connection (detached below).
    let coid = unsafe { t.async_connect_attach(0, rpid, rchid, SIDE, 0, &q, notify) }
        .expect("asyncmsg connection to another program");
    for m in &msgs {
        // SAFETY: one producer; `m` lives until the end of this function.
        unsafe {
            q.push(MsgDesc {
                iov: Iov::from_slice(m),
                parts: 0,
            })
        }
        .expect("room");
    }
    tell_parent(&format!(
        "coid {coid} triggered {}",
        res(t.msg_send_async(coid))
    ));
    let mut buf = [0u8; 64];
    let r = receive(&t, lib_chid, &mut buf, None);
    let pulse = Pulse::from_bytes(&buf).expect("a pulse");
    tell_parent(&format!(
        "notified {} code {} value {} taken {}",
        res(r),
        pulse.code,
        pulse.value,
        q.counters().1
    ));
    t.connect_detach(coid).expect("detach");
    t.async_queue_free(&q).expect("free");
    leave(k, p, t);
}

/// asyncmsg within this program on the shared kernel: a batch on a connection of the
/// program's own process (smoke.rs), then a batch from a second simulated process of this
/// program to a receiver blocked in MsgReceiveAsync.
fn async_local(path: &str) {
    let (k, p, t) = join(path, 10);
    let chid = t
        .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 64, 16, None)
        .expect("asyncmsg channel");
    let q = Box::new(AsyncQueue::new(32));
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 8 + usize::from(i)]).collect();
    // SAFETY: `q` and `msgs` outlive the connection (detached below).
    let coid = unsafe { t.async_connect_attach(0, 0, chid, SIDE, 0, &q, -1) }
        .expect("asyncmsg connection");
    for m in &msgs {
        // SAFETY: one producer; `m` lives until the end of this function.
        unsafe {
            q.push(MsgDesc {
                iov: Iov::from_slice(m),
                parts: 0,
            })
        }
        .expect("room in the queue");
    }
    let mut arena = vec![0u8; 64 * 16];
    let mut hdrs = vec![AsyncGetHeader::default(); 16];
    let early = t.msg_receive_async(chid, &mut arena, &mut hdrs);
    let pending = t.msg_send_async(coid);
    let got = t.msg_receive_async(chid, &mut arena, &mut hdrs);
    let n = *got.as_ref().unwrap_or(&0);
    let whole = intact(&arena, &hdrs[..n], &msgs, p.pid, coid);
    tell_parent(&format!(
        "batch {} {} {} {whole} {}",
        res(early),
        res(pending),
        res(got),
        q.pending()
    ));
    t.connect_detach(coid).expect("ConnectDetach");
    t.channel_destroy(chid).expect("ChannelDestroy");

    let chid2 = t
        .async_channel_create(0, 64, 8, None)
        .expect("asyncmsg channel");
    let p2 = k
        .process_create()
        .expect("a second process of this program");
    let (tid_tx, tid_rx) = mpsc::channel::<i32>();
    let k2 = k.clone();
    let receiver = std::thread::spawn(move || {
        let r = k2.thread_attach(p, 10).expect("thread_attach");
        tid_tx.send(r.tid()).expect("receiver tid");
        let mut arena = vec![0u8; 64 * 8];
        let mut hdrs = vec![AsyncGetHeader::default(); 8];
        arm(&r, _NTO_TIMEOUT_RECEIVE, Some(LONG));
        let got = r.msg_receive_async(chid2, &mut arena, &mut hdrs);
        let n = *got.as_ref().unwrap_or(&0);
        hdrs.truncate(n);
        (res(got), hdrs, arena)
    });
    let rtid = tid_rx.recv_timeout(DEADLINE).expect("the receiver's tid");
    wait_receive_blocked(&k, p.pid, rtid);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let k3 = k.clone();
    let sender = std::thread::spawn(move || {
        let s = k3.thread_attach(p2, 10).expect("thread_attach");
        let q = Box::new(AsyncQueue::new(8));
        let msgs: Vec<Vec<u8>> = (0..3u8)
            .map(|i| vec![0x40 + i; 5 + usize::from(i)])
            .collect();
        // SAFETY: `q` and `msgs` outlive the connection: it is detached below, once the
        // receiver has taken the messages.
        let coid = unsafe { s.async_connect_attach(0, p.pid, chid2, SIDE, 0, &q, -1) };
        let trig = match coid {
            Ok(c) => {
                for m in &msgs {
                    // SAFETY: one producer; `m` lives until the connection is detached.
                    unsafe {
                        q.push(MsgDesc {
                            iov: Iov::from_slice(m),
                            parts: 0,
                        })
                    }
                    .expect("room in the queue");
                }
                res(s.msg_send_async(c))
            }
            Err(e) => res(Err::<u32, _>(e)),
        };
        let _ = done_rx.recv_timeout(DEADLINE);
        if let Ok(c) = coid {
            s.connect_detach(c).expect("ConnectDetach");
        }
        (coid, trig, msgs)
    });
    let (got, hdrs, arena) = receiver.join().expect("the receiver thread");
    let _ = done_tx.send(());
    let (coid2, trig, msgs2) = sender.join().expect("the sender thread");
    let whole = coid2.map_or(0, |c| intact(&arena, &hdrs, &msgs2, p2.pid, c));
    tell_parent(&format!("blocking {} {trig} {got} {whole}", res(coid2)));
    k.process_destroy(p2).expect("process_destroy");
    leave(k, p, t);
}

/// Where a child starts (support/procs.rs); ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    let a: Vec<&str> = arg.split(' ').collect();
    let int = |i: usize| -> i32 {
        a.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("argument {i} of {arg:?}"))
    };
    match role.as_str() {
        "srr-server" => srr_server(a[0]),
        "pulse-drain" => pulse_drain(a[0]),
        "short-pulse" => short_pulse(a[0]),
        "event-client" => event_client(a[0], int(1), int(2)),
        "timer-target" => timer_target(a[0]),
        "timer-owner" => timer_owner(a[0], int(1), int(2)),
        "holder" => holder(a[0], int(1) as u32),
        "detacher" => detacher(a[0], int(1), int(2), a[3]),
        "connector" => connector(a[0], int(1)),
        "async-local" => async_local(a[0]),
        "async-remote" => async_remote(a[0], number(a[1]), number(a[2])),
        "signalled-client" => signalled_client(a[0], number(a[1]), number(a[2])),
        other => panic!("unknown role {other}"),
    }
}

// ================================================================== the parent's side

/// The child's next line, which must start with the word `prefix`, split into words.
fn words(child: &Child, prefix: &str) -> Vec<String> {
    let line = child.line(DEADLINE);
    let w: Vec<String> = line.split(' ').map(str::to_string).collect();
    assert_eq!(w[0], prefix, "unexpected line {line:?}");
    w
}

/// A number a child printed: decimal, or hex with `0x` (an i32's bits).
fn number(w: &str) -> i32 {
    let v = match w.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16),
        None => w.parse(),
    };
    v.unwrap_or_else(|_| panic!("{w:?} is not a number")) as i32
}

/// The first `N` words after `prefix` in the child's next line, as numbers.
fn ids<const N: usize>(child: &Child, prefix: &str) -> [i32; N] {
    let w = words(child, prefix);
    assert!(w.len() > N, "{w:?}");
    std::array::from_fn(|i| number(&w[i + 1]))
}

/// Sends a one-byte control message and expects the plain reply.
fn control(t: &ThreadCtx, coid: i32, c: u8) {
    assert_eq!(
        send(t, coid, &[c], &mut []),
        Ok(0),
        "control {:?}",
        c as char
    );
}

/// The SRR server's ids: (its receiving thread, its helper thread, chid, control chid).
fn srr_server_ready(server: &Child) -> [i32; 4] {
    ids::<4>(server, "ready")
}

fn quit(t: &ThreadCtx, coid: i32, server: Child) {
    assert_eq!(send(t, coid, &[cmd::QUIT], &mut []), Ok(0));
    let st = server.wait(DEADLINE);
    assert!(st.success(), "the server program failed: {st}");
}

// ------------------------------------------------------------------ SRR (conf_srr.rs)

/// conf_srr: reply_status_becomes_the_msg_send_return_value,
/// msg_error_makes_msg_send_fail_with_that_errno, msg_error_eok_makes_msg_send_return_zero,
/// msg_error_erestart_makes_the_client_resend_its_message: a server in another program.
#[test]
fn statuses_msg_error_and_erestart_reach_a_client_in_another_program() {
    let (_dir, k, path) = shared("status");
    let (_me, t) = attach(&k);
    let server = Child::spawn("srr-server", &path);
    let [_, _, chid, _] = srr_server_ready(&server);
    let coid = connect(&t, server.pid(), chid);

    // The reply status is MsgSend's return value, all 64 bits of it.
    for st in [0i64, 1, 42, 0x7fff_ffff, 0x1_0000_0000, i64::MAX] {
        let mut m = vec![cmd::STATUS];
        m.extend_from_slice(&st.to_le_bytes());
        assert_eq!(send(&t, coid, &m, &mut [0u8; 4]), Ok(st), "status {st:#x}");
    }
    // MsgError(errno): MsgSend fails with that errno, whatever it is.
    for e in [Errno::EINVAL, Errno::ENOSYS, Errno::EINTR, Errno(1234)] {
        let mut m = vec![cmd::ERROR];
        m.extend_from_slice(&e.0.to_le_bytes());
        assert_eq!(send(&t, coid, &m, &mut [0u8; 4]), Err(e));
    }
    // MsgError(EOK): MsgSend returns 0 and no data is transferred.
    let mut r = [0xAAu8; 4];
    let mut m = vec![cmd::ERROR];
    m.extend_from_slice(&Errno::EOK.0.to_le_bytes());
    assert_eq!(send(&t, coid, &m, &mut r), Ok(0));
    assert_eq!(r, [0xAA; 4]);
    // MsgError(ERESTART): our send is issued again, the server reads the same message from us
    // a second time, from the same thread and coid, and the first rcvid is spent.
    let mut r = [0u8; 64];
    let st = send(&t, coid, b"Aagain!", &mut r);
    assert_eq!(st, Ok(2));
    let text = String::from_utf8_lossy(&r)
        .trim_end_matches('\0')
        .to_string();
    assert_eq!(text, "ESRCH true Aagain!");
    quit(&t, coid, server);
}

/// conf_read_write_info: msg_info_fields_describe_the_client_and_its_buffers;
/// conf_srr: send_copies_the_smaller_of_message_and_receive_buffer,
/// reply_copies_the_smaller_of_reply_and_client_buffer: MsgInfo of a client in another program
/// (a gathered send of 100 bytes into a 64-byte receive buffer, a scattered 64-byte reply
/// buffer), and replies into reply buffers shorter and longer than the reply.
#[test]
fn msg_info_and_short_buffers_across_programs() {
    let (_dir, k, path) = shared("info");
    let (me, t) = attach(&k);
    let server = Child::spawn("srr-server", &path);
    let [_, _, chid, _] = srr_server_ready(&server);
    let coid = connect(&t, server.pid(), chid);
    let scoid = scoid_of(&k, me.pid, coid);
    assert_eq!(scoid as u32 & SIDE, SIDE);

    let c = spawn(&k, me, 37, move |c| {
        let rest: Vec<u8> = (0..99).map(pattern).collect();
        let (mut r1, mut r2) = ([0u8; 16], [0u8; 48]);
        arm(c, SEND_REPLY, Some(LONG));
        c.msg_sendv(
            coid,
            &[&[cmd::INFO][..], &rest[..]],
            &mut [&mut r1[..], &mut r2[..]],
        )
    });
    let ctid = c.tid;
    let line = server.line(DEADLINE);
    // 63 bytes after the command arrived (64 received of 100 sent), each the one we sent.
    assert_eq!(c.join(), Ok(63));
    assert_eq!(
        line,
        format!(
            "info 0 0 {} {ctid} {chid} {scoid:#x} {coid:#x} 37 0 64 100 64 true",
            me.pid
        ),
        "nd srcnd pid tid chid scoid coid priority flags msglen srcmsglen dstmsglen, \
         and MsgInfo(rcvid) the same"
    );

    // A 32-byte reply into an 8-byte reply buffer: status 32, 8 bytes written, no more.
    let mut m = vec![cmd::REPLY_N];
    m.extend_from_slice(&32u32.to_le_bytes());
    let mut r = [0xEEu8; 24];
    assert_eq!(send(&t, coid, &m, &mut r[..8]), Ok(32));
    let want: Vec<u8> = (0..8).map(pattern).collect();
    assert_eq!(&r[..8], &want[..]);
    assert_eq!(&r[8..], &[0xEE; 16]);
    // Into a 64-byte one: 32 bytes written, the rest untouched.
    let mut r = [0xEEu8; 64];
    assert_eq!(send(&t, coid, &m, &mut r), Ok(32));
    let want: Vec<u8> = (0..32).map(pattern).collect();
    assert_eq!(&r[..32], &want[..]);
    assert_eq!(&r[32..], &[0xEE; 32]);
    quit(&t, coid, server);
}

/// conf_priority: receiver_takes_the_senders_priority_on_receive_and_keeps_its_base,
/// queued_client_boosts_busy_server_threads_whose_last_receive_was_on_the_channel: the server
/// thread in another program runs at the priority of our client while it holds the message,
/// a client of ours that queues boosts it, and only it (its helper last received elsewhere),
/// all visible from here through thread_info.
#[test]
fn a_server_thread_in_another_program_inherits_and_is_boosted_by_our_clients_priority() {
    let (_dir, k, path) = shared("prio");
    let (me, t) = attach(&k);
    let server = Child::spawn("srr-server", &path);
    let _reap = ReapOnPanic::new(&k, server.pid());
    let spid = server.pid();
    let [stid, htid, chid, ctl] = srr_server_ready(&server);
    let coid = connect(&t, spid, chid);
    let ctl_coid = connect(&t, spid, ctl);
    let prio_of = |tid: i32| {
        let i = k.thread_info(spid, tid).expect("thread_info");
        (i.base_priority, i.priority)
    };

    // A priority-25 client: the server thread holding its message runs at 25.
    let a = spawn(&k, me, 25, move |c| send(c, coid, &[cmd::HOLD], &mut []));
    assert_eq!(server.line(DEADLINE), "held 10 25");
    assert_eq!(prio_of(stid), (10, 25));
    assert_eq!(
        k.thread_info(spid, stid).unwrap().state,
        ThreadState::Running
    );
    let st = wait_reply_blocked(&k, me.pid, a.tid);
    assert_eq!(
        st.state,
        ThreadState::Reply {
            pid: spid,
            chid,
            tid: stid
        }
    );
    // A priority-40 client queues (nobody receives): the busy thread is boosted to 40, the
    // helper (whose last receive was on the control channel) is not.
    let b = spawn(&k, me, 40, move |c| {
        send(c, coid, &[cmd::PRIORITY], &mut [])
    })
    .once_send_blocked(&k);
    assert_eq!(
        k.thread_info(me.pid, b.tid).unwrap().state,
        ThreadState::Send { pid: spid, chid }
    );
    assert_eq!(prio_of(stid), (10, 40));
    assert_eq!(prio_of(htid), (10, 10));
    // Released: it replies at the boosted priority, then takes the queued client's.
    control(&t, ctl_coid, cmd::RELEASE);
    assert_eq!(a.join(), Ok(40));
    assert_eq!(b.join(), Ok(40));
    // Lower and higher than its own: the receiver takes the sender's either way; waiting
    // for the next message, it is back at its base priority.
    for prio in [3i16, 200] {
        let c = spawn(&k, me, prio, move |c| {
            send(c, coid, &[cmd::PRIORITY], &mut [])
        });
        assert_eq!(c.join(), Ok(i64::from(prio)));
        wait_for(&k, spid, stid, "RECEIVE-blocked on its channel", |s| {
            *s == ThreadState::Receive { chid }
        });
        assert_eq!(prio_of(stid), (10, 10));
    }
    quit(&t, coid, server);
}

// ------------------------------------------------------------------ pulses (conf_pulse.rs, conf_priority.rs, conf_events.rs)

fn pulse_value(code: i8) -> i32 {
    -1000 * i32::from(code) - 7
}

/// conf_priority: send_queue_orders_senders_and_pulses_by_priority_fifo_within_a_priority,
/// pulse_priority_minus_one_is_the_callers_priority; conf_pulse:
/// pulse_is_received_with_rcvid_0_and_all_its_fields: pulses and messages from this program
/// queue on a channel of another by priority, FIFO within a priority, codes, values and scoid
/// intact, and the receiving thread takes each one's priority.
#[test]
fn pulses_and_messages_from_another_program_are_received_by_priority_then_in_order() {
    let (_dir, k, path) = shared("order");
    let (me, t) = attach(&k);
    let server = Child::spawn("pulse-drain", &path);
    let _reap = ReapOnPanic::new(&k, server.pid());
    let [_, chid, go] = ids::<3>(&server, "ready");
    let coid = connect(&t, server.pid(), chid);
    let gcoid = connect(&t, server.pid(), go);
    let scoid = scoid_of(&k, me.pid, coid);
    // (label, priority): a message from a client thread at that priority, or a pulse
    // ("p<code>"; priority -1: the sending thread's, 17).
    let arrivals: [(&'static str, i16); 10] = [
        ("p1", 10),
        ("p2", 20),
        ("A", 20),
        ("p3", 10),
        ("p4", 30),
        ("B", 5),
        ("p5", 20),
        ("p6", PULSE_PRIO_CALLER),
        ("p7", 5),
        ("C", 30),
    ];
    let expected = [
        ("p4", 30),
        ("C", 30),
        ("p2", 20),
        ("A", 20),
        ("p5", 20),
        ("p6", 17),
        ("p1", 10),
        ("p3", 10),
        ("B", 5),
        ("p7", 5),
    ];
    assert_eq!(t.set_priority(17), Ok(10));
    let mut clients = Vec::new();
    for (label, prio) in arrivals {
        if let Some(code) = label.strip_prefix('p') {
            let code: i8 = code.parse().unwrap();
            t.msg_send_pulse(coid, prio, code, pulse_value(code))
                .expect("MsgSendPulse");
        } else {
            // Queued before the next arrival, so that FIFO order within a priority is defined.
            let h = spawn(&k, me, prio, move |c| {
                send(c, coid, label.as_bytes(), &mut [])
            })
            .once_send_blocked(&k);
            clients.push(h);
        }
    }
    assert_eq!(queued(&k, server.pid(), chid), 10);
    assert_eq!(k.pool_usage().pulses.live, 7);
    assert_eq!(send(&t, gcoid, &10u32.to_le_bytes(), &mut []), Ok(0));
    let want: Vec<String> = expected
        .iter()
        .map(|&(label, prio)| match label.strip_prefix('p') {
            Some(code) => {
                let code: i8 = code.parse().unwrap();
                format!("{label}={}/{scoid:#x}@{prio}", pulse_value(code))
            }
            None => format!("{label}/{scoid:#x}@{prio}"),
        })
        .collect();
    assert_eq!(
        server.line(DEADLINE),
        format!("order {} rest ETIMEDOUT", want.join(" "))
    );
    for h in clients {
        assert_eq!(h.join(), Ok(0));
    }
    assert_eq!(k.pool_usage().pulses.live, 0);
    assert_eq!(k.process_counters(me.pid).unwrap().pulses_sent, 7);
    assert!(server.wait(DEADLINE).success());
}

/// conf_events: receive_buffer_smaller_than_a_pulse_is_efault_and_the_pulse_is_lost (and
/// conf_errors' two short-buffer tests): a pulse of ours received into a receive buffer
/// shorter than `struct _pulse` in another program is EFAULT there and lost; handed straight
/// to a receiver waiting with a short buffer, it is ESRVRFAULT for us and EFAULT for it; the
/// next pulse arrives whole.
#[test]
fn a_pulse_into_a_short_receive_buffer_in_another_program_is_efault_and_lost() {
    let (_dir, k, path) = shared("short");
    let (me, t) = attach(&k);
    let server = Child::spawn("short-pulse", &path);
    let spid = server.pid();
    let [stid, chid, go] = ids::<3>(&server, "ready");
    let coid = connect(&t, spid, chid);
    let gcoid = connect(&t, spid, go);
    let scoid = scoid_of(&k, me.pid, coid);
    // Queued while the server waits on its other channel.
    t.msg_send_pulse(coid, 10, 1, 1).unwrap();
    assert_eq!(send(&t, gcoid, b"go", &mut []), Ok(0));
    assert_eq!(server.line(DEADLINE), "queued EFAULT ETIMEDOUT");
    // Handed straight to the receiver waiting with 8 bytes.
    wait_for(&k, spid, stid, "RECEIVE-blocked on the channel", |s| {
        *s == ThreadState::Receive { chid }
    });
    assert_eq!(t.msg_send_pulse(coid, 10, 3, 3), Err(Errno::ESRVRFAULT));
    assert_eq!(server.line(DEADLINE), "direct EFAULT");
    assert_eq!(k.pool_usage().pulses.live, 0, "both pulses are gone");
    t.msg_send_pulse(coid, 10, 4, 44).unwrap();
    assert_eq!(server.line(DEADLINE), format!("next 4 44 {scoid:#x}"));
    assert!(server.wait(DEADLINE).success());
}

// ------------------------------------------------------------------ events and timers (conf_events.rs, conf_timers.rs)

/// conf_events: deliver_event_pulse_goes_to_the_clients_own_channel_with_its_code_value_and_base_priority,
/// deliver_event_to_a_reply_blocked_client_delivers_the_pulse,
/// deliver_event_with_a_coid_unknown_to_the_client_is_esrch,
/// deliver_event_unblock_releases_a_reply_blocked_client_with_etimedout: the client in another
/// program registers a SIGEV_PULSE event on a coid to its own channel in its message; this
/// server delivers it later, after the reply and while a second message is held; the event's
/// coid is the client's; a SIGEV_UNBLOCK event ends the held client's MsgSend.
#[test]
fn msg_deliver_event_reaches_a_client_in_another_program_on_its_own_channel() {
    let (_dir, k, path) = shared("event");
    let (me, t) = attach(&k);
    assert_eq!(t.set_priority(20), Ok(10));
    let chid = t.channel_create(0).unwrap();
    let client = Child::spawn("event-client", &format!("{path} {} {chid}", me.pid));
    let _reap = ReapOnPanic::new(&k, client.pid());
    let cpid = client.pid();
    let [_, _, ccoid] = ids::<3>(&client, "ready");
    let cscoid = scoid_of(&k, cpid, ccoid);

    let (rcvid, info, msg) = take(&t, chid);
    assert_eq!((info.pid, info.priority), (cpid, 13));
    let ev = event_from_bytes(&msg);
    assert_eq!(
        ev,
        SigEvent::pulse(ccoid, SIGEV_PULSE_PRIO_INHERIT, 5, 777),
        "the event as the client built it"
    );
    t.msg_reply(rcvid, 0, b"").unwrap();
    let w = words(&client, "sent");
    assert_eq!(w.get(2).map(String::as_str), Some("ok:0"), "{w:?}");
    let ctid = number(&w[1]);
    // The client thread is no longer REPLY-blocked: MsgDeliverEvent does not need it to be.
    assert_eq!(t.msg_deliver_event(rcvid, &ev), Ok(()));
    // Priority -1: the client thread's (13), not ours (20) nor the receiving thread's (7).
    assert_eq!(
        client.line(DEADLINE),
        format!("event 5 777 {cscoid:#x} 7 13")
    );

    // The second message, held: the client is REPLY-blocked when the event comes.
    let (rcvid2, _, msg) = take(&t, chid);
    assert_eq!(msg, b"again");
    wait_reply_blocked(&k, cpid, ctid);
    assert_eq!(
        t.msg_deliver_event(rcvid2, &SigEvent::pulse(ccoid, 50, 6, 8)),
        Ok(())
    );
    assert_eq!(client.line(DEADLINE), format!("event 6 8 {cscoid:#x} 7 50"));
    let st = wait_reply_blocked(&k, cpid, ctid);
    assert_eq!(
        st.state,
        ThreadState::Reply {
            pid: me.pid,
            chid,
            tid: t.tid()
        },
        "delivery left the client REPLY-blocked"
    );
    // A coid the client does not have (our own coid numbers mean nothing there): ESRCH.
    let ours = connect(&t, me.pid, chid);
    for coid in [ours, 3, (SIDE | 0x77) as i32] {
        let ev = SigEvent::pulse(coid, 10, 1, 1);
        assert_eq!(
            t.msg_deliver_event(rcvid2, &ev),
            Err(Errno::ESRCH),
            "coid {coid:#x}"
        );
        assert_eq!(t.msg_verify_event(rcvid2, &ev), Err(Errno::ESRCH));
    }
    assert_eq!(k.pool_usage().pulses.live, 0);
    // SIGEV_UNBLOCK releases the REPLY-blocked client in the other program with ETIMEDOUT;
    // our reply then comes too late.
    assert_eq!(t.msg_deliver_event(rcvid2, &SigEvent::unblock()), Ok(()));
    assert_eq!(client.line(DEADLINE), "sent-again ETIMEDOUT");
    assert_eq!(t.msg_reply(rcvid2, 3, b""), Err(Errno::ESRCH));
    assert!(client.wait(DEADLINE).success());
    t.connect_detach(ours).unwrap();
}

/// conf_timers: one_shot_relative_timer_sends_exactly_one_pulse_then_reports_disarmed,
/// periodic_timer_keeps_sending_pulses_and_counts_them: a timer of ours whose SIGEV_PULSE goes
/// to a channel of another program through our coid, one-shot then periodic; and a timer of
/// the other program whose pulse comes to our channel through its coid.
#[test]
fn timer_pulses_go_to_a_channel_of_another_program_both_ways() {
    let (_dir, k, path) = shared("timers");
    let (me, t) = attach(&k);

    // Ours, to the other program.
    let target = Child::spawn("timer-target", &path);
    let [_, tchid] = ids::<2>(&target, "ready");
    let coid = connect(&t, target.pid(), tchid);
    let scoid = scoid_of(&k, me.pid, coid);
    let one = t
        .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::pulse(coid, 10, 5, 55)))
        .unwrap();
    let t0 = Instant::now();
    t.timer_settime(one, 0, 10 * MS, 0).unwrap();
    assert_eq!(target.line(DEADLINE), format!("pulse 5 55 {scoid:#x}"));
    assert!(t0.elapsed() >= Duration::from_millis(10), "not early");
    let info = t.timer_info(one).unwrap();
    assert_eq!((info.remaining, info.fired, info.interval), (0, 1, 0));
    t.timer_destroy(one).unwrap();
    let every = t
        .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::pulse(coid, 10, 6, 66)))
        .unwrap();
    t.timer_settime(every, 0, 5 * MS, 5 * MS).unwrap();
    for _ in 0..3 {
        assert_eq!(target.line(DEADLINE), format!("pulse 6 66 {scoid:#x}"));
    }
    let info = t.timer_info(every).unwrap();
    assert!(info.fired >= 3, "fired {}", info.fired);
    assert_eq!(info.interval, 5 * MS);
    t.timer_destroy(every).unwrap();
    // Our message comes after the pulses already queued (same priority): only periodic ones,
    // the one-shot timer fired once.
    assert_eq!(send(&t, coid, b"Q", &mut []), Ok(0));
    loop {
        let line = target.line(DEADLINE);
        if line == "bye" {
            break;
        }
        assert_eq!(line, format!("pulse 6 66 {scoid:#x}"));
    }
    assert!(target.wait(DEADLINE).success());

    // The other program's, to us.
    let pchid = t.channel_create(0).unwrap();
    let owner = Child::spawn("timer-owner", &format!("{path} {} {pchid}", me.pid));
    let [ochid, ocoid] = ids::<2>(&owner, "armed");
    let p = receive_pulse(&t, pchid);
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (9, 99, scoid_of(&k, owner.pid(), ocoid))
    );
    let oc = connect(&t, owner.pid(), ochid);
    assert_eq!(send(&t, oc, b"Q", &mut []), Ok(0));
    assert_eq!(owner.line(DEADLINE), "timer 1 0 ok:0");
    assert!(owner.wait(DEADLINE).success());
    assert_nothing_queued(&t, pchid);
    assert_eq!(k.pool_usage().timers.live, 0);
}

// ------------------------------------------------------------------ timeouts (conf_timeouts.rs, conf_srr.rs, conf_notifications.rs)

/// conf_timeouts: send_blocked_client_times_out_and_leaves_the_queue,
/// send_only_timeout_bounds_the_send_state,
/// reply_blocked_client_times_out_and_the_late_reply_is_esrch; conf_srr:
/// reply_timeout_bounds_a_client_that_was_send_blocked_first: TimerTimeout on a client of a
/// server in another program that never receives, and one that receives and never replies.
#[test]
fn send_and_reply_timeouts_bound_a_client_of_a_server_in_another_program() {
    let (_dir, k, path) = shared("timeouts");
    let (me, t) = attach(&k);
    let server = Child::spawn("holder", &format!("{path} 0"));
    let _reap = ReapOnPanic::new(&k, server.pid());
    let spid = server.pid();
    let [stid, chid, ctl_chid] = ids::<3>(&server, "ready");
    let coid = connect(&t, spid, chid);
    let ctl = connect(&t, spid, ctl_chid);
    let mut r = [0u8; 4];

    // A server that never receives: SEND-blocked, then ETIMEDOUT, and out of the queue.
    for flags in [SEND_REPLY, _NTO_TIMEOUT_SEND] {
        let t0 = Instant::now();
        arm(&t, flags, Some(SHORT));
        assert_eq!(t.msg_send(coid, b"nobody", &mut r), Err(Errno::ETIMEDOUT));
        about(t0.elapsed(), SHORT);
        assert_eq!(
            k.thread_info(me.pid, t.tid()).unwrap().state,
            ThreadState::Running
        );
        assert_eq!(queued(&k, spid, chid), 0, "the client left the queue");
    }

    // A server that receives and never replies: REPLY-blocked, then ETIMEDOUT; its late
    // reply is ESRCH, and no unblock pulse was queued (no _NTO_CHF_UNBLOCK).
    control(&t, ctl, ctl::HOLD);
    wait_for(&k, spid, stid, "RECEIVE-blocked on its channel", |s| {
        *s == ThreadState::Receive { chid }
    });
    let t0 = Instant::now();
    arm(&t, _NTO_TIMEOUT_REPLY, Some(SHORT));
    assert_eq!(t.msg_send(coid, b"hold me", &mut r), Err(Errno::ETIMEDOUT));
    about(t0.elapsed(), SHORT);
    assert_eq!(server.line(DEADLINE), "held hold me");
    control(&t, ctl, ctl::LATE);
    assert_eq!(server.line(DEADLINE), "late ESRCH ESRCH ETIMEDOUT");

    // REPLY alone, armed by a client that SEND-blocks first: not bounded while queued, bounded
    // once the other program received it.
    let c = spawn(&k, me, 10, move |c| {
        let mut r = [0u8; 4];
        arm(c, _NTO_TIMEOUT_REPLY, Some(SHORT));
        c.msg_send(coid, b"queued first", &mut r)
    })
    .once_send_blocked(&k);
    control(&t, ctl, ctl::HOLD);
    assert_eq!(server.line(DEADLINE), "held queued first");
    assert_eq!(c.join(), Err(Errno::ETIMEDOUT));
    control(&t, ctl, ctl::LATE);
    assert_eq!(server.line(DEADLINE), "late ESRCH ESRCH ETIMEDOUT");

    assert_eq!(send(&t, ctl, &[ctl::QUIT], &mut []), Ok(0));
    assert!(server.wait(DEADLINE).success());
}

/// conf_notifications:
/// reply_blocked_client_on_an_unblock_channel_stays_blocked_and_the_server_gets_one_unblock_pulse,
/// unblock_request_may_be_answered_with_a_reply: our client times out while REPLY-blocked on
/// an _NTO_CHF_UNBLOCK channel of another program: that server gets _PULSE_CODE_UNBLOCK (value
/// the rcvid, its scoid, at our client's priority) and MsgInfo's _NTO_MI_UNBLOCK_REQ, while
/// our client stays REPLY-blocked until the server answers, and gets that answer.
#[test]
fn a_client_timing_out_on_an_unblock_channel_of_another_program_waits_for_the_answer() {
    let (_dir, k, path) = shared("unblock");
    let (me, t) = attach(&k);
    let server = Child::spawn("holder", &format!("{path} {_NTO_CHF_UNBLOCK}"));
    let _reap = ReapOnPanic::new(&k, server.pid());
    let spid = server.pid();
    let [stid, chid, ctl_chid] = ids::<3>(&server, "ready");
    let coid = connect(&t, spid, chid);
    let ctl = connect(&t, spid, ctl_chid);

    control(&t, ctl, ctl::HOLD);
    let kc = k.clone();
    let c = spawn(&k, me, 33, move |c| {
        // Sent once the server waits: straight to REPLY-blocked, the bound in force at once.
        wait_for(&kc, spid, stid, "RECEIVE-blocked on its channel", |s| {
            *s == ThreadState::Receive { chid }
        });
        let mut r = [0u8; 8];
        let t0 = Instant::now();
        arm(c, SEND_REPLY, Some(SHORT));
        let st = c.msg_send(coid, b"unblock me", &mut r);
        (st, r, t0.elapsed())
    });
    assert_eq!(server.line(DEADLINE), "held unblock me");
    control(&t, ctl, ctl::UNBLOCK);
    assert_eq!(
        server.line(DEADLINE),
        format!("unblock {_PULSE_CODE_UNBLOCK} true true 10 33 ok:{_NTO_MI_UNBLOCK_REQ}")
    );
    // The timeout has fired (the pulse came); our client is still REPLY-blocked, and stays so.
    let replying = ThreadState::Reply {
        pid: spid,
        chid,
        tid: stid,
    };
    assert_eq!(k.thread_info(me.pid, c.tid).unwrap().state, replying);
    std::thread::sleep(Duration::from_nanos(2 * SHORT));
    assert_eq!(k.thread_info(me.pid, c.tid).unwrap().state, replying);
    // The server answers: the client gets that answer; there was one unblock pulse only.
    control(&t, ctl, ctl::ANSWER);
    assert_eq!(server.line(DEADLINE), "answered ok:0 ETIMEDOUT");
    let (st, r, took) = c.join();
    assert_eq!((st, &r[..6]), (Ok(77), &b"answer"[..]));
    assert!(took >= Duration::from_nanos(2 * SHORT));
    assert_eq!(k.pool_usage().pulses.live, 0);
    assert_eq!(send(&t, ctl, &[ctl::QUIT], &mut []), Ok(0));
    assert!(server.wait(DEADLINE).success());
}

// ------------------------------------------------------------------ disconnect and ConnectAttach (conf_notifications.rs, conf_connect.rs, conf_channel.rs)

/// A client program with two shared coids to our _NTO_CHF_DISCONNECT channel: its first
/// detach sends nothing; its connection's end (as `mode` says) sends one
/// _PULSE_CODE_DISCONNECT naming the scoid, which stays ours until we detach it.
fn disconnect_case(mode: &str) {
    let (_dir, k, path) = shared(mode);
    let (me, t) = attach(&k);
    let chid = t.channel_create(_NTO_CHF_DISCONNECT).unwrap();
    let client = Child::spawn("detacher", &format!("{path} {} {chid} {mode}", me.pid));
    let cpid = client.pid();
    let [a, b] = ids::<2>(&client, "ready");
    let scoid = scoid_of(&k, cpid, a);
    assert_eq!(scoid_of(&k, cpid, b), scoid, "one shared connection");

    let (rcvid, info, msg) = take(&t, chid);
    assert_eq!(
        (msg.as_slice(), info.pid, info.scoid),
        (&b"hi"[..], cpid, scoid)
    );
    t.msg_reply(rcvid, 0, b"").unwrap();
    // Its first coid is detached before it sends again: had that sent a disconnect pulse, the
    // pulse would be received first (it is queued ahead of everything).
    let (rcvid, info, msg) = take(&t, chid);
    assert_eq!((msg.as_slice(), info.scoid), (&b"one left"[..], scoid));
    // A thread of ours waits for the pulse before the client goes on: the pulse is written
    // straight into its buffer, by the other program's thread (detach, destroy) or ours (the
    // reaping).
    let rx = spawn(&k, me, 10, move |c| receive_pulse(c, chid)).once_receive_blocked(&k);
    t.msg_reply(rcvid, 0, b"").unwrap();
    assert_eq!(client.line(DEADLINE), "linked ok:0 ok:0 ok:0");
    let running = match mode {
        "detach" => {
            assert_eq!(client.line(DEADLINE), "detached ok:0");
            Some(client)
        }
        "destroy" => {
            assert_eq!(client.line(DEADLINE), "destroyed ok:0");
            Some(client)
        }
        _ => {
            client.kill();
            // (Or none: this program's timer service looks for dead programs every 200 ms,
            // since a thread of ours blocked, and may have reaped it first.)
            assert!(k.reap_os_process(cpid) <= 1, "its one process");
            None
        }
    };
    let p = rx.join();
    assert_eq!((p.type_, p.subtype), (0, 0));
    assert_eq!(
        (p.code, p.value_int(), p.scoid),
        (_PULSE_CODE_DISCONNECT, 0, scoid)
    );
    assert_nothing_queued(&t, chid);
    if let Some(client) = running {
        assert!(client.wait(DEADLINE).success());
    }
    assert!(k.snapshot().processes.iter().all(|q| q.pid != cpid));
    assert_eq!(
        k.pool_usage().connections.live,
        1,
        "the scoid is kept for the server"
    );
    assert_eq!(t.connect_detach(scoid), Ok(()));
    assert_eq!(k.pool_usage().connections.live, 0);
    assert_eq!(t.connect_detach(scoid), Err(Errno::EINVAL));
}

/// conf_notifications: disconnect_pulse_comes_when_the_clients_last_shared_coid_is_detached.
#[test]
fn a_client_program_detaching_its_last_coid_sends_our_channel_a_disconnect_pulse() {
    disconnect_case("detach");
}

/// conf_notifications: client_process_destroy_sends_disconnect.
#[test]
fn a_client_program_destroying_its_process_sends_our_channel_a_disconnect_pulse() {
    disconnect_case("destroy");
}

/// The supervisor's teardown of a program that died (`reap_os_process`, design.md): its
/// connections are detached with their pulses, as QNX does for a process that ends.
#[test]
fn a_killed_client_program_once_reaped_sends_our_channel_a_disconnect_pulse() {
    disconnect_case("killed");
}

/// conf_connect: connect_attach_to_an_unknown_pid_or_chid_is_esrch; conf_channel:
/// destroyed_channel_releases_send_receive_and_reply_blocked_threads_with_esrch,
/// sends_and_pulses_on_coids_of_a_destroyed_channel_are_ebadf_until_detached: ConnectAttach
/// between programs to a pid not (or no longer) in the kernel, or a chid that does not exist,
/// is ESRCH; a client in another program SEND-blocked on a channel we destroy leaves with
/// ESRCH, and its coid is then EBADF until detached.
#[test]
fn connect_attach_across_programs_refuses_unknown_pids_and_chids_with_esrch() {
    let (_dir, k, path) = shared("connect");
    let client = Child::spawn(
        "connector",
        &format!("{path} {}", std::process::id() as i32),
    );
    let cpid = client.pid();
    // Its first attempt was made before we joined: our Linux pid was no process of the kernel.
    let w = words(&client, "ready");
    assert_eq!(w.get(3).map(String::as_str), Some("ESRCH"), "{w:?}");
    let (ctid, cchid) = (number(&w[1]), number(&w[2]));

    let (me, t) = attach(&k);
    assert_eq!(
        t.connect_attach(0, cpid, cchid + 7, SIDE, 0),
        Err(Errno::ESRCH),
        "a chid the other program does not have"
    );
    let coid = connect(&t, cpid, cchid);
    let pchid = t.channel_create(0).unwrap();
    assert_eq!(send(&t, coid, &pchid.to_le_bytes(), &mut []), Ok(0));
    assert_eq!(client.line(DEADLINE), "attach ESRCH ESRCH ESRCH true");
    wait_for(&k, cpid, ctid, "SEND-blocked on our channel", |s| {
        *s == ThreadState::Send {
            pid: me.pid,
            chid: pchid,
        }
    });
    t.channel_destroy(pchid).unwrap();
    assert_eq!(client.line(DEADLINE), "after ESRCH EBADF EBADF ESRCH ok:0");
    assert_eq!(client.line(DEADLINE), "left");
    assert!(client.wait(DEADLINE).success());
    // The program's process is gone: its pid is ESRCH, our coid to its channel EBADF.
    assert_eq!(t.connect_attach(0, cpid, cchid, SIDE, 0), Err(Errno::ESRCH));
    assert_eq!(send(&t, coid, b"x", &mut []), Err(Errno::EBADF));
    assert_eq!(t.connect_detach(coid), Ok(()));
}

// ------------------------------------------------------------------ asyncmsg (smoke.rs)

/// asyncmsg_channel_event and asyncmsg_notify (conf_async): between programs, a trigger on a
/// channel with no receiver waiting delivers the channel's event to the receiving program;
/// its receive takes the whole batch, in order, each message with the sender's pid and coid;
/// the kernel then pulses the sender's library (`'P'`, value its coid) in the other program.
#[test]
fn an_asyncmsg_batch_from_another_program_raises_the_event_and_the_senders_notification() {
    let (_dir, k, path) = shared("async-remote");
    let (p, t) = attach(&k);
    let ev_chid = t.channel_create(_NTO_CHF_PRIVATE).unwrap();
    let ev_coid = t.connect_attach(0, 0, ev_chid, SIDE, 0).unwrap();
    let ev = SigEvent::pulse(ev_coid, 10, 5, 77);
    let chid = t
        .async_channel_create(_NTO_CHF_ASYNC_NONBLOCK, 64, 16, Some(&ev))
        .unwrap();
    let sender = Child::spawn("async-remote", &format!("{path} {} {chid}", p.pid));
    let w = words(&sender, "coid");
    assert_eq!(w[2..], ["triggered", "ok:10"]);
    let coid = number(&w[1]);
    // The event, to this program.
    let mut buf = [0u8; 64];
    assert_eq!(receive(&t, ev_chid, &mut buf, None), Ok(0));
    let pulse = Pulse::from_bytes(&buf).unwrap();
    assert_eq!((pulse.code, pulse.value), (5, 77));
    let mut arena = [0u8; 64 * 16];
    let mut hdrs = [AsyncGetHeader::default(); 16];
    assert_eq!(t.msg_receive_async(chid, &mut arena, &mut hdrs), Ok(10));
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 8 + usize::from(i)]).collect();
    assert_eq!(intact(&arena, &hdrs[..10], &msgs, sender.pid(), coid), 10);
    // The sender's library is told, in its program.
    assert_eq!(
        sender.line(DEADLINE),
        format!(
            "notified ok:0 code {} value {coid} taken 10",
            kernel_sim::consts::PULSE_CODE_TAKEN
        )
    );
    assert!(sender.wait(DEADLINE).success());
    k.process_destroy(p).unwrap();
}

/// smoke: asyncmsg_batch_moves_with_one_trigger: asyncmsg within one program of a shared
/// kernel works as in a kernel of one program: a batch on a connection of the program's own process, and one from a second
/// simulated process of the program to a receiver blocked in MsgReceiveAsync.
#[test]
fn asyncmsg_within_one_program_of_a_shared_kernel_works() {
    let (_dir, k, path) = shared("async");
    let child = Child::spawn("async-local", &path);
    assert_eq!(child.line(DEADLINE), "batch EAGAIN ok:10 ok:10 10 0");
    let line = child.line(DEADLINE);
    let w: Vec<&str> = line.split(' ').collect();
    assert_eq!(
        (w.len(), w[0], w[2], w[3], w[4]),
        (5, "blocking", "ok:3", "ok:3", "3"),
        "connect trigger receive whole: {line:?}"
    );
    assert!(w[1].starts_with("ok:"), "{line:?}");
    assert!(child.wait(DEADLINE).success());
    let u = k.pool_usage();
    assert_eq!(
        (
            u.processes.live,
            u.threads.live,
            u.channels.live,
            u.connections.live
        ),
        (0, 0, 0, 0),
        "the program left nothing behind"
    );
}

// ------------------------------------------------------------------ signals (userlib signals.rs)

/// A client in another program, REPLY-blocked on our channel made with `flags`, is signalled
/// (a caught SIGUSR1, from this program). Returns what its MsgSend returned with its handler
/// count, our reply's result, and the pulse we got (if any) before replying.
fn signal_client_in_another_program(tag: &str, flags: u32) -> (String, KResult<()>, Option<i8>) {
    let (_dir, k, path) = shared(tag);
    let (p, t) = attach(&k);
    let chid = t.channel_create(flags).unwrap();
    let client = Child::spawn("signalled-client", &format!("{path} {} {chid}", p.pid));
    let _reap = ReapOnPanic::new(&k, client.pid());
    let [tid] = ids::<1>(&client, "tid");
    let (rcvid, _, msg) = take(&t, chid);
    assert_eq!(msg, b"hello");
    // SAFETY: plain integers: a signal to the client program's thread.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, client.pid(), tid, libc::SIGUSR1) };
    assert_eq!(r, 0);
    // Any unblock pulse, within a moment.
    let mut buf = [0u8; 64];
    arm(&t, _NTO_TIMEOUT_RECEIVE, Some(300 * MS));
    let pulse = match t.msg_receive(chid, &mut buf, None) {
        Ok(0) => Some(Pulse::from_bytes(&buf).unwrap()),
        _ => None,
    };
    if let Some(pl) = pulse {
        assert_eq!(pl.value_long(), rcvid, "the unblock pulse names the rcvid");
    }
    let reply = t.msg_reply(rcvid, 5, b"ok");
    let said = client.line(DEADLINE);
    assert!(client.wait(DEADLINE).success());
    k.process_destroy(p).unwrap();
    (said, reply, pulse.map(|p| p.code))
}

/// signals.rs: a_signal_interrupts_a_reply_blocked_client_with_eintr_on_a_channel_without_unblock,
/// with the client in another program: EINTR, its handler run; the late reply finds no client.
#[test]
fn a_signal_interrupts_a_client_in_another_program_with_eintr_on_a_channel_without_unblock() {
    let (said, reply, pulse) = signal_client_in_another_program("signal-eintr", 0);
    assert_eq!(said, "sent EINTR handled 1");
    assert_eq!(reply, Err(Errno::ESRCH));
    assert_eq!(pulse, None);
}

/// signals.rs: a_signalled_reply_blocked_client_on_an_unblock_channel_waits_for_the_servers_answer,
/// with the client in another program: the server in this program gets the unblock pulse, and
/// its answer stands.
#[test]
fn a_signalled_client_in_another_program_on_an_unblock_channel_waits_for_the_answer() {
    let (said, reply, pulse) = signal_client_in_another_program("signal-unblock", _NTO_CHF_UNBLOCK);
    assert_eq!(pulse, Some(_PULSE_CODE_UNBLOCK));
    assert_eq!(reply, Ok(()));
    assert_eq!(said, "sent ok:5 handled 1");
}
