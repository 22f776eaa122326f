//! A property-based fuzzer of the kernel calls, written from outside, as an attacker or tester
//! would: random sequences of calls over a few simulated processes and threads of one small
//! kernel, with arguments drawn from live ids, stale ids (destroyed, detached, replied), other
//! processes' ids, garbage (0, -1, i32::MIN/MAX, huge sizes and offsets, undefined flag bits,
//! out-of-range priorities and pulse codes, bad sigevents), and TimerTimeout with random states
//! and times.
//!
//! Properties checked for every call (see `check_*` and `World::step`):
//! * no panic anywhere (a helper thread's panic fails the case; a panic under the kernel lock
//!   aborts the binary, which fails the run);
//! * the result is Ok or an errno QNX documents for that call (reference §2, §4), widened only
//!   by the deviations docs/deviations.md documents (`allowed`);
//! * stale ids are never taken as live: a chid, coid, rcvid or timer id that names nothing
//!   live gives the documented errno, and never reaches another object (statuses are unique
//!   per reply, so a reply that reached the wrong client is seen when that client returns);
//! * a call that fails changes nothing (normalised snapshot before and after);
//! * no call blocks past its TimerTimeout (generous bounds), and every SEND- or REPLY-blocked
//!   client returns when its channel, its server, its coid or its process goes;
//! * after the sequence the kernel's own picture is consistent (receiver counts, queued
//!   senders, live counts) and tearing every process down brings every pool back to its
//!   baseline.
//!
//! The defects it found are kept as minimal tests at the end of the file (both fixed: an
//! earlier rcvid taken by a server that never received its thread; TimerTimeout's errnos for
//! an event it cannot deliver).

use kernel_sim::consts::*;
use kernel_sim::types::{sigev, SigEvent};
use kernel_sim::{
    Config, Errno, Iov, KResult, Kernel, MsgInfo, Pid, Pulse, RcvId, ThreadCtx, ThreadState,
    PULSE_SIZE,
};
use proptest::prelude::*;
use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ configuration

/// How long a long-bounded client send may block: far beyond a case's run time.
const LONG_NS: u64 = 30_000_000_000;
/// How long the test waits for something that must happen promptly before failing.
const PROMPT: Duration = Duration::from_secs(10);
/// Slack over a TimerTimeout before a call counts as having blocked past it.
const SLACK: Duration = Duration::from_secs(3);
/// A case that has not finished after this long is reported as a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(60);

fn small_config() -> Config {
    Config {
        max_processes: 6,
        max_threads: 16,
        max_channels: 6,
        max_connections: 14,
        max_pulses: 6,
        max_timers: 3,
        max_names: 2,
        chids_per_process: 3,
        fd_coids_per_process: 3,
        side_coids_per_process: 9,
        spin_ns: 0,
        trace_records: 0,
        async_queue_pages: 0,
        ..Config::small()
    }
}

const NPROCS: usize = 3;
const NHELPERS: usize = 2;

// ------------------------------------------------------------------ allowed errnos per call

/// The errnos QNX documents for each call (reference §2 and §4), plus the documented
/// deviations (docs/deviations.md) where noted.
fn allowed(call: &str) -> &'static [Errno] {
    use Errno as E;
    match call {
        // [OQ] EAGAIN, EBUSY, EPERM; deviation: EINVAL for flag bits not implemented.
        "ChannelCreate" => &[E::EAGAIN, E::EBUSY, E::EPERM, E::EINVAL],
        "ChannelDestroy" => &[E::EINVAL],
        // [OQ] EINVAL, EMFILE, ESRCH, ENXIO, ENOREMOTE, ENFILE, EAGAIN; deviation: EPERM (private).
        "ConnectAttach" => &[
            E::EINVAL,
            E::EMFILE,
            E::ESRCH,
            E::ENXIO,
            E::ENOREMOTE,
            E::ENFILE,
            E::EAGAIN,
            E::EPERM,
        ],
        "ConnectDetach" => &[E::EINVAL],
        "MsgSend" => &[
            E::EBADF,
            E::EFAULT,
            E::EINTR,
            E::ESRCH,
            E::ESRVRFAULT,
            E::ETIMEDOUT,
            E::EOVERFLOW,
            E::ENXIO,
        ],
        "MsgReceive" => &[E::EFAULT, E::EINTR, E::ESRCH, E::ETIMEDOUT, E::EOVERFLOW],
        "MsgReply" => &[
            E::EDEADLK,
            E::EFAULT,
            E::ENOREMOTE,
            E::ESRCH,
            E::ESRVRFAULT,
            E::ETIMEDOUT,
        ],
        // [D7] ESRCH, ETIMEDOUT; deviation: EINVAL for errno values outside 1..=4095.
        "MsgError" => &[E::ESRCH, E::ETIMEDOUT, E::EINVAL],
        "MsgRead" | "MsgWrite" => &[E::EDEADLK, E::EFAULT, E::ESRCH, E::ESRVRFAULT, E::ETIMEDOUT],
        "MsgInfo" => &[E::ESRCH, E::EFAULT],
        "MsgSendPulse" => &[
            E::EBADF,
            E::EPERM,
            E::EINVAL,
            E::EAGAIN,
            E::ENXIO,
            E::ESRVRFAULT,
        ],
        // [D7] list.
        "MsgDeliverEvent" => &[
            E::EACCES,
            E::EAGAIN,
            E::EBADF,
            E::EBUSY,
            E::ECANCELED,
            E::EFAULT,
            E::EINVAL,
            E::ENXIO,
            E::EPERM,
            E::ESRCH,
            E::ESRVRFAULT,
            E::ETIMEDOUT,
        ],
        // [D6] EBADF, EINVAL, ESRCH; deviation: EBUSY (SIGEV_THREAD).
        "MsgVerifyEvent" => &[E::EBADF, E::EINVAL, E::ESRCH, E::EBUSY],
        // [OQ] EAGAIN, EINVAL, EFAULT.
        "TimerTimeout" => &[E::EAGAIN, E::EINVAL, E::EFAULT],
        // QNX TimerCreate / timer_create: EAGAIN, EINVAL (EFAULT).
        "TimerCreate" => &[E::EAGAIN, E::EINVAL, E::EFAULT],
        "TimerSettime" | "TimerInfo" | "TimerDestroy" => &[E::EINVAL, E::EFAULT],
        "SetPriority" => &[E::EINVAL, E::EPERM],
        // SchedSet: EFAULT, EINVAL, EPERM, ESRCH; ENOTSUP for SCHED_SPORADIC (deviations.md).
        "SchedSet" => &[E::EFAULT, E::EINVAL, E::EPERM, E::ESRCH, E::ENOTSUP],
        "SchedGet" => &[E::EFAULT, E::ESRCH],
        // InterruptAttach / InterruptAttachEvent: EINVAL, EBUSY, EAGAIN (EFAULT, EPERM).
        "InterruptAttach" => &[E::EINVAL, E::EBUSY, E::EAGAIN, E::EFAULT, E::EPERM],
        // InterruptDetach: EINVAL, and EPERM for another process's attachment (QNX 7).
        "InterruptDetach" => &[E::EINVAL, E::EPERM],
        "InterruptMask" | "InterruptUnmask" | "InterruptRaise" => &[E::EINVAL],
        // InterruptWait: EINTR, ETIMEDOUT (TimerTimeout), EINVAL (flags).
        "InterruptWait" => &[E::EINTR, E::ETIMEDOUT, E::EINVAL],
        _ => &[],
    }
}

/// Errnos outside QNX's documented set for the call that the fuzzer reports but does not fail
/// a case for. None today: the sigevent checks TimerTimeout and TimerCreate make when called
/// were ESRCH/EBADF/ENOSYS/EBUSY when the fuzzer found them; they are EINVAL now.
fn soft_allowed(_call: &str) -> &'static [Errno] {
    &[]
}

static SOFT: Mutex<Vec<(String, Errno)>> = Mutex::new(Vec::new());

fn note_soft(call: &str, e: Errno) {
    let mut s = SOFT.lock().unwrap();
    if !s.iter().any(|(c, x)| c == call && *x == e) {
        eprintln!("fuzz_calls: {call} returned {e:?}, outside QNX's documented set (reported, not failed)");
        s.push((call.to_string(), e));
    }
}

// ------------------------------------------------------------------ operations

/// Which id of a kind an operation uses.
#[derive(Clone, Copy, Debug)]
enum Sel {
    /// One that is live in the calling process now (if any).
    Live(u8),
    /// One the calling process ever had (live or stale now).
    Seen(u8),
    /// One another process ever had.
    Other(u8),
    /// A raw value.
    Raw(i32),
}

/// Which rcvid an operation uses.
#[derive(Clone, Copy, Debug)]
enum RSel {
    /// The n-th newest rcvid any process received (live or stale).
    Known(u8),
    /// One of the rcvids still live (of any process), if any.
    Live(u8),
    Raw(i64),
}

/// Which pid ConnectAttach uses.
#[derive(Clone, Copy, Debug)]
enum PSel {
    Zero,
    Proc(u8),
    Dead(u8),
    Raw(i32),
}

/// A sigevent's contents.
#[derive(Clone, Copy, Debug)]
struct Ev {
    notify: i32,
    coid: Sel,
    signo_hi: i64,
    prio: i16,
    code: i16,
    value: i32,
}

#[derive(Clone, Debug)]
enum Op {
    ChannelCreate {
        p: u8,
        flags: u32,
    },
    ChannelDestroy {
        p: u8,
        chid: Sel,
    },
    ConnectAttach {
        p: u8,
        nd: u32,
        pid: PSel,
        chid: Sel,
        index: u32,
        flags: u32,
    },
    ConnectDetach {
        p: u8,
        coid: Sel,
    },
    /// MsgSend from the process's main thread, polled (immediate TimerTimeout).
    SendPoll {
        p: u8,
        coid: Sel,
        slen: usize,
        rlen: usize,
    },
    /// MsgSendv with null-based iovs (EFAULT / EOVERFLOW before anything is touched).
    SendRaw {
        p: u8,
        coid: Sel,
        lens: Vec<u64>,
    },
    /// MsgSend from a helper thread, bounded by a long or a short timeout.
    ClientSend {
        p: u8,
        h: u8,
        coid: Sel,
        slen: usize,
        rlen: usize,
        short: Option<Option<u64>>,
    },
    Receive {
        p: u8,
        chid: Sel,
        blen: usize,
        pulse_only: bool,
        ntime: Option<u64>,
    },
    Reply {
        p: u8,
        r: RSel,
        len: usize,
    },
    Error {
        p: u8,
        r: RSel,
        err: i32,
    },
    Read {
        p: u8,
        r: RSel,
        len: usize,
        offset: usize,
    },
    Write {
        p: u8,
        r: RSel,
        len: usize,
        offset: usize,
    },
    Info {
        p: u8,
        r: RSel,
    },
    Pulse {
        p: u8,
        coid: Sel,
        prio: i16,
        code: i8,
        value: i32,
    },
    Deliver {
        p: u8,
        r: RSel,
        ev: Ev,
        verify: bool,
    },
    TimerTimeout {
        p: u8,
        clock: i32,
        flags: u32,
        ev: Option<Ev>,
        ntime: Option<u64>,
        then_receive: Option<Sel>,
    },
    TimerCreate {
        p: u8,
        clock: i32,
        ev: Ev,
    },
    TimerSettime {
        p: u8,
        id: Sel,
        flags: u32,
        value: u64,
        interval: u64,
    },
    TimerInfo {
        p: u8,
        id: Sel,
    },
    TimerDestroy {
        p: u8,
        id: Sel,
    },
    SetPrio {
        p: u8,
        prio: i16,
    },
    /// SchedSet(pid, tid, policy, prio) on any thread (a helper blocked in a send among
    /// them), then SchedGet of the same thread.
    SchedSet {
        p: u8,
        pid: PSel,
        tid: i32,
        policy: i32,
        prio: i16,
    },
    ProcessExit {
        p: u8,
    },
    /// InterruptAttachEvent (`ev` `None`: a `SIGEV_INTR`) or InterruptAttach's kernel half
    /// (`handler`: no service thread runs it, so its level stays masked once raised).
    IntrAttach {
        p: u8,
        level: i32,
        handler: bool,
        ev: Option<Ev>,
        flags: u32,
    },
    IntrDetach {
        p: u8,
        id: Sel,
    },
    /// InterruptMask, or InterruptUnmask with `unmask`.
    IntrMask {
        p: u8,
        level: i32,
        id: Sel,
        unmask: bool,
    },
    /// InterruptWait polled (TimerTimeout `_NTO_TIMEOUT_INTR`, no time).
    IntrWait {
        p: u8,
        flags: u32,
    },
    /// `Kernel::interrupt_raise` (the hardware), from process `p`'s slot's turn.
    IntrRaise {
        p: u8,
        level: i32,
    },
}

/// A few levels (so that they are shared), the edges, and garbage.
fn level() -> impl Strategy<Value = i32> {
    prop_oneof![
        12 => 0i32..4,
        1 => Just(255),
        1 => Just(-1),
        1 => Just(256),
        1 => Just(i32::MAX),
        1 => Just(i32::MIN),
    ]
}

const INTR_COMMON: &[u32] = &[
    0,
    0,
    0,
    _NTO_INTR_FLAGS_TRK_MSK,
    _NTO_INTR_FLAGS_END,
    _NTO_INTR_FLAGS_EXCLUSIVE,
    _NTO_INTR_FLAGS_NO_UNMASK,
    _NTO_INTR_FLAGS_PROCESS | _NTO_INTR_FLAGS_TRK_MSK,
];

const INTR_WAIT_COMMON: &[u32] = &[
    0,
    0,
    _NTO_INTR_WAIT_FLAGS_FAST,
    _NTO_INTR_WAIT_FLAGS_UNMASK,
    _NTO_INTR_WAIT_FLAGS_FAST | _NTO_INTR_WAIT_FLAGS_UNMASK,
];

fn garbage_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(1),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(_NTO_SIDE_CHANNEL as i32),
        Just((_NTO_SIDE_CHANNEL | 1) as i32),
        Just((_NTO_SIDE_CHANNEL | 0xffff) as i32),
        Just(0x3fff_ffff),
        any::<i32>(),
    ]
}

fn sel() -> impl Strategy<Value = Sel> {
    prop_oneof![
        10 => any::<u8>().prop_map(Sel::Live),
        3 => any::<u8>().prop_map(Sel::Seen),
        1 => any::<u8>().prop_map(Sel::Other),
        1 => garbage_i32().prop_map(Sel::Raw),
    ]
}

fn rsel() -> impl Strategy<Value = RSel> {
    prop_oneof![
        8 => any::<u8>().prop_map(RSel::Live),
        4 => (0u8..6).prop_map(RSel::Known),
        1 => prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(1 << 31 | 1),
            Just(0x7fff_ffff),
            any::<i64>(),
        ]
        .prop_map(RSel::Raw),
    ]
}

fn psel() -> impl Strategy<Value = PSel> {
    prop_oneof![
        2 => Just(PSel::Zero),
        6 => any::<u8>().prop_map(PSel::Proc),
        2 => any::<u8>().prop_map(PSel::Dead),
        1 => garbage_i32().prop_map(PSel::Raw),
    ]
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(PULSE_SIZE - 1),
        Just(PULSE_SIZE),
        1usize..64,
        Just(300),
        Just(4096),
    ]
}

fn offset() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1usize..40,
        Just(usize::MAX),
        Just(isize::MAX as usize),
        Just(u32::MAX as usize),
        Just(1 << 40),
    ]
}

fn prio() -> impl Strategy<Value = i16> {
    prop_oneof![
        Just(-1i16),
        Just(0),
        Just(1),
        Just(10),
        Just(255),
        Just(256),
        Just(i16::MIN),
        Just(i16::MAX),
        Just(-2),
        any::<i16>(),
    ]
}

fn flags32(common: &'static [u32]) -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => proptest::sample::select(common.to_vec()),
        1 => any::<u32>(),
        1 => (0u32..32).prop_map(|b| 1u32 << b),
    ]
}

/// Signal numbers that no Linux signal has (the fuzzer must never send a real one).
fn bad_signo() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(65),
        Just(-1),
        Just(1000),
        Just(i32::MAX as i64),
        Just(i32::MIN as i64),
        Just(0x1_0000_0000),
    ]
}

fn ev() -> impl Strategy<Value = Ev> {
    let notify = prop_oneof![
        6 => Just(sigev::SIGEV_PULSE),
        1 => Just(sigev::SIGEV_NONE),
        1 => Just(sigev::SIGEV_UNBLOCK),
        1 => Just(sigev::SIGEV_SIGNAL),
        1 => Just(sigev::SIGEV_SIGNAL_CODE),
        1 => Just(sigev::SIGEV_SIGNAL_THREAD),
        1 => Just(sigev::SIGEV_INTR),
        1 => Just(sigev::SIGEV_THREAD),
        1 => Just(sigev::SIGEV_PULSE | 0x100),
        1 => any::<i32>(),
    ];
    let code = prop_oneof![
        Just(0i16),
        Just(1),
        Just(127),
        Just(128),
        Just(-1),
        Just(-33),
        Just(-128),
        Just(-129),
        Just(i16::MAX),
        Just(i16::MIN),
    ];
    (notify, sel(), bad_signo(), prio(), code, any::<i32>()).prop_map(
        |(notify, coid, signo_hi, prio, code, value)| Ev {
            notify,
            coid,
            signo_hi,
            prio,
            code,
            value,
        },
    )
}

const CHF_COMMON: &[u32] = &[
    0,
    0,
    _NTO_CHF_UNBLOCK,
    _NTO_CHF_DISCONNECT,
    _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT,
    _NTO_CHF_FIXED_PRIORITY,
    _NTO_CHF_COID_DISCONNECT,
    _NTO_CHF_THREAD_DEATH,
    _NTO_CHF_PRIVATE,
    _NTO_CHF_NET_MSG,
    _NTO_CHF_ASYNC,
    _NTO_CHF_SENDER_LEN | _NTO_CHF_REPLY_LEN,
];

const COF_COMMON: &[u32] = &[
    0,
    0,
    0,
    0,
    0,
    0,
    _NTO_COF_NOSHARE,
    _NTO_COF_NOSHARE,
    _NTO_COF_CLOEXEC,
    _NTO_COF_NONBLOCK,
    _NTO_COF_DEAD,
];

const TO_COMMON: &[u32] = &[
    0,
    _NTO_TIMEOUT_RECEIVE,
    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
    _NTO_TIMEOUT_RECEIVE | TIMER_ABSTIME,
    _NTO_TIMEOUT_RECEIVE | _NTO_TIMEOUT_ACTIVE | _NTO_TIMEOUT_IMMEDIATE,
    _NTO_TIMEOUT_NANOSLEEP,
    _NTO_TIMEOUT_MASK,
    _NTO_TIMEOUT_INTR,
];

fn index() -> impl Strategy<Value = u32> {
    prop_oneof![
        8 => Just(_NTO_SIDE_CHANNEL),
        2 => 0u32..4,
        1 => Just(_NTO_SIDE_CHANNEL | 5),
        1 => Just(u32::MAX),
        1 => Just(1000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0u8..NPROCS as u8;
    prop_oneof![
        3 => (p.clone(), flags32(CHF_COMMON)).prop_map(|(p, flags)| Op::ChannelCreate { p, flags }),
        1 => (p.clone(), sel()).prop_map(|(p, chid)| Op::ChannelDestroy { p, chid }),
        5 => (
            p.clone(),
            prop_oneof![8 => Just(0u32), 1 => any::<u32>()],
            psel(),
            sel(),
            index(),
            flags32(COF_COMMON)
        )
            .prop_map(|(p, nd, pid, chid, index, flags)| Op::ConnectAttach {
                p,
                nd,
                pid,
                chid,
                index,
                flags
            }),
        2 => (p.clone(), sel()).prop_map(|(p, coid)| Op::ConnectDetach { p, coid }),
        1 => (p.clone(), sel(), size(), size())
            .prop_map(|(p, coid, slen, rlen)| Op::SendPoll { p, coid, slen, rlen }),
        1 => (
            p.clone(),
            sel(),
            proptest::collection::vec(
                prop_oneof![Just(0u64), Just(1), Just(u64::MAX), Just(isize::MAX as u64), Just(1 << 62)],
                0..4
            )
        )
            .prop_map(|(p, coid, lens)| Op::SendRaw { p, coid, lens }),
        10 => (
            p.clone(),
            0u8..NHELPERS as u8,
            prop_oneof![6 => any::<u8>().prop_map(Sel::Live), 1 => sel()],
            size(),
            size(),
            prop_oneof![
                6 => Just(None),
                1 => prop_oneof![Just(None), Just(Some(0u64)), Just(Some(1_000_000)), Just(Some(5_000_000))]
                    .prop_map(Some),
            ]
        )
            .prop_map(|(p, h, coid, slen, rlen, short)| Op::ClientSend {
                p,
                h,
                coid,
                slen,
                rlen,
                short
            }),
        8 => (
            p.clone(),
            prop_oneof![6 => any::<u8>().prop_map(Sel::Live), 1 => sel()],
            size(),
            prop_oneof![4 => Just(false), 1 => Just(true)],
            prop_oneof![Just(None), Just(Some(0u64)), Just(Some(2_000_000))]
        )
            .prop_map(|(p, chid, blen, pulse_only, ntime)| Op::Receive {
                p,
                chid,
                blen,
                pulse_only,
                ntime
            }),
        4 => (p.clone(), rsel(), size()).prop_map(|(p, r, len)| Op::Reply { p, r, len }),
        2 => (
            p.clone(),
            rsel(),
            prop_oneof![
                Just(0i32),
                Just(-1),
                Just(Errno::ERESTART.0),
                Just(Errno::ENOSYS.0),
                Just(4095),
                Just(4096),
                Just(i32::MIN),
                Just(i32::MAX),
                1i32..200
            ]
        )
            .prop_map(|(p, r, err)| Op::Error { p, r, err }),
        2 => (p.clone(), rsel(), size(), offset())
            .prop_map(|(p, r, len, offset)| Op::Read { p, r, len, offset }),
        2 => (p.clone(), rsel(), size(), offset())
            .prop_map(|(p, r, len, offset)| Op::Write { p, r, len, offset }),
        1 => (p.clone(), rsel()).prop_map(|(p, r)| Op::Info { p, r }),
        4 => (
            p.clone(),
            sel(),
            prio(),
            prop_oneof![0i8..=127, Just(-1i8), Just(-33), Just(i8::MIN)],
            any::<i32>()
        )
            .prop_map(|(p, coid, prio, code, value)| Op::Pulse {
                p,
                coid,
                prio,
                code,
                value
            }),
        3 => (p.clone(), prop_oneof![4 => rsel(), 1 => Just(RSel::Raw(0))], ev(), any::<bool>())
            .prop_map(|(p, r, ev, verify)| Op::Deliver { p, r, ev, verify }),
        2 => (
            p.clone(),
            prop_oneof![6 => Just(CLOCK_MONOTONIC), 2 => Just(CLOCK_REALTIME), 1 => garbage_i32()],
            flags32(TO_COMMON),
            prop_oneof![3 => Just(None), 1 => ev().prop_map(Some)],
            prop_oneof![Just(None), Just(Some(0u64)), Just(Some(1_000_000)), Just(Some(u64::MAX)), Just(Some(1))],
            prop_oneof![Just(None), sel().prop_map(Some)]
        )
            .prop_map(|(p, clock, flags, ev, ntime, then_receive)| Op::TimerTimeout {
                p,
                clock,
                // (Not _NTO_TIMEOUT_NANOSLEEP, with which the call sleeps its ntime, up to
                // u64::MAX ns: conf_timeouts has its cases.)
                flags: flags & !_NTO_TIMEOUT_NANOSLEEP,
                ev,
                ntime,
                then_receive
            }),
        1 => (
            p.clone(),
            prop_oneof![6 => Just(CLOCK_MONOTONIC), 2 => Just(CLOCK_REALTIME), 1 => garbage_i32()],
            ev()
        )
            .prop_map(|(p, clock, ev)| Op::TimerCreate { p, clock, ev }),
        1 => (
            p.clone(),
            sel(),
            prop_oneof![4 => Just(0u32), 1 => Just(TIMER_ABSTIME), 1 => any::<u32>()],
            prop_oneof![Just(0u64), Just(1), Just(1_000_000), Just(u64::MAX), Just(i64::MAX as u64)],
            prop_oneof![Just(0u64), Just(1_000_000), Just(50_000_000), Just(u64::MAX)]
        )
            .prop_map(|(p, id, flags, value, interval)| Op::TimerSettime {
                p,
                id,
                flags,
                value,
                interval
            }),
        1 => (p.clone(), sel()).prop_map(|(p, id)| Op::TimerInfo { p, id }),
        1 => (p.clone(), sel()).prop_map(|(p, id)| Op::TimerDestroy { p, id }),
        1 => (p.clone(), prio()).prop_map(|(p, prio)| Op::SetPrio { p, prio }),
        1 => (
            p.clone(),
            psel(),
            prop_oneof![4 => 0i32..5, 1 => garbage_i32()],
            prop_oneof![4 => 0i32..5, 1 => garbage_i32()],
            prio()
        )
            .prop_map(|(p, pid, tid, policy, prio)| Op::SchedSet {
                p,
                pid,
                tid,
                policy,
                prio
            }),
        1 => p.clone().prop_map(|p| Op::ProcessExit { p }),
        3 => (
            p.clone(),
            level(),
            prop_oneof![4 => Just(false), 1 => Just(true)],
            prop_oneof![3 => Just(None), 1 => ev().prop_map(Some)],
            flags32(INTR_COMMON)
        )
            .prop_map(|(p, level, handler, ev, flags)| Op::IntrAttach {
                p,
                level,
                handler,
                ev,
                flags
            }),
        1 => (p.clone(), sel()).prop_map(|(p, id)| Op::IntrDetach { p, id }),
        2 => (
            p.clone(),
            level(),
            prop_oneof![2 => Just(Sel::Raw(-1)), 3 => sel()],
            any::<bool>()
        )
            .prop_map(|(p, level, id, unmask)| Op::IntrMask { p, level, id, unmask }),
        1 => (p.clone(), flags32(INTR_WAIT_COMMON)).prop_map(|(p, flags)| Op::IntrWait { p, flags }),
        2 => (p, level()).prop_map(|(p, level)| Op::IntrRaise { p, level }),
    ]
}

// ------------------------------------------------------------------ helper (client) threads

enum Cmd {
    Send {
        coid: i32,
        smsg: Vec<u8>,
        rlen: usize,
        tflags: u32,
        tns: Option<u64>,
    },
    Exit,
}

#[derive(Debug)]
struct Done {
    res: KResult<i64>,
    reply: Vec<u8>,
    elapsed: Duration,
}

/// What the test expects a pending client send to end with.
#[derive(Clone, Debug, PartialEq)]
enum Expect {
    /// Nobody answered it (yet).
    Nothing,
    /// MsgReply(status, data).
    Status(i64, Vec<u8>),
    /// MsgError(err) (0: returns 0 with nothing copied).
    Err(i32),
}

#[derive(Debug)]
struct Pending {
    op: usize,
    coid: i32,
    smsg: Vec<u8>,
    rlen: usize,
    /// The (pid, chid) it was SEND-blocked on.
    target: (i32, i32),
    /// That channel had `_NTO_CHF_UNBLOCK` (a timeout or detach may leave it blocked).
    unblock_chan: bool,
    /// Bounded by a short timeout (may time out any moment).
    short: bool,
    tns: Option<u64>,
    expect: Expect,
    /// Its coid was detached by a sibling (it must leave with EBADF).
    forced: bool,
    /// Its channel or server process was destroyed (it must leave with ESRCH).
    killed: bool,
    /// Its own process was destroyed.
    own_death: bool,
    /// Something may have unblocked it (a SIGEV_UNBLOCK event).
    volatile: bool,
    restarted: bool,
}

struct Helper {
    tx: mpsc::Sender<Cmd>,
    rx: mpsc::Receiver<Done>,
    join: Option<std::thread::JoinHandle<()>>,
    pid: i32,
    tid: i32,
    pending: Option<Pending>,
}

fn spawn_helper(k: &Kernel, pid: Pid) -> Option<Helper> {
    let (ctx_tx, ctx_rx) = mpsc::channel();
    let (tx, cmd_rx) = mpsc::channel::<Cmd>();
    let (done_tx, rx) = mpsc::channel::<Done>();
    let k2 = k.clone();
    let join = std::thread::spawn(move || {
        let ctx = match k2.thread_attach(pid, 10) {
            Ok(c) => c,
            Err(e) => {
                let _ = ctx_tx.send(Err(e));
                return;
            }
        };
        let _ = ctx_tx.send(Ok(ctx.tid()));
        while let Ok(cmd) = cmd_rx.recv() {
            match cmd {
                Cmd::Exit => break,
                Cmd::Send {
                    coid,
                    smsg,
                    rlen,
                    tflags,
                    tns,
                } => {
                    let mut reply = vec![0u8; rlen];
                    let t0 = Instant::now();
                    let res = ctx
                        .timer_timeout(CLOCK_MONOTONIC, tflags, tns)
                        .and_then(|_| ctx.msg_send(coid, &smsg, &mut reply));
                    let _ = done_tx.send(Done {
                        res,
                        reply,
                        elapsed: t0.elapsed(),
                    });
                }
            }
        }
    });
    match ctx_rx.recv_timeout(PROMPT) {
        Ok(Ok(tid)) => Some(Helper {
            tx,
            rx,
            join: Some(join),
            pid: pid.pid,
            tid,
            pending: None,
        }),
        _ => {
            let _ = join.join();
            None
        }
    }
}

// ------------------------------------------------------------------ the world

struct Proc {
    pid: Pid,
    main: ThreadCtx,
    helpers: Vec<Helper>,
    chids_seen: Vec<i32>,
    coids_seen: Vec<i32>,
    timers_seen: Vec<i32>,
    /// Interrupt ids this process ever had, and the live ones with their level.
    intrs_seen: Vec<i32>,
    intrs_live: std::collections::HashMap<i32, i32>,
    timers_live: HashSet<i32>,
    /// scoids this process learnt (MsgInfo, pulses).
    scoids_seen: HashSet<i32>,
    /// The flags the last successful TimerTimeout of the main thread armed, if its last call
    /// was that TimerTimeout.
    last_arm: Option<u32>,
    timers_armed: bool,
}

#[derive(Clone, Debug)]
struct RcvRec {
    rcvid: RcvId,
    /// Index of the server process slot, and its pid then.
    server_pid: i32,
    /// The helper (pid, tid) it names.
    client: (i32, i32),
    live: bool,
}

struct World {
    k: Kernel,
    baseline: kernel_sim::info::PoolUsage,
    procs: Vec<Option<Proc>>,
    dead_pids: Vec<i32>,
    /// Helpers of destroyed processes still waiting for a server's answer.
    orphans: Vec<Helper>,
    rcvids: Vec<RcvRec>,
    log: Arc<Mutex<Vec<String>>>,
    opn: usize,
}

/// A failure of a property: the message, with the op sequence so far.
type Fail = String;

macro_rules! ensure {
    ($w:expr, $cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err($w.fail(format!($($arg)*)));
        }
    };
}

fn norm_snapshot(k: &Kernel, with_queued: bool) -> String {
    let s = k.snapshot();
    let u = k.pool_usage();
    let mut out = format!(
        "pools p{} t{} c{} k{} tm{}\n",
        u.processes.live, u.threads.live, u.channels.live, u.connections.live, u.timers.live
    );
    if with_queued {
        out += &format!("pulses {}\n", u.pulses.live);
    }
    for c in &s.channels {
        out += &format!(
            "chan {} {} {:#x} r{} {}\n",
            c.pid,
            c.chid,
            c.flags,
            c.receivers,
            if with_queued {
                c.queued.to_string()
            } else {
                String::new()
            }
        );
    }
    for c in &s.connections {
        out += &format!(
            "conn {} {:#x} -> {} {} s{:#x} f{:#x}\n",
            c.pid, c.coid, c.server_pid, c.chid, c.scoid, c.flags
        );
    }
    for t in &s.threads {
        out += &format!("thr {} {} {:?}\n", t.pid, t.tid, t.state);
    }
    out += &format!("intrs {}\n", u.interrupts.live);
    for i in &s.interrupts {
        out += &format!(
            "intr {} {} {} {:#x} m{} d{} lm{} lp{} lr{}\n",
            i.level,
            i.id,
            i.pid,
            i.flags,
            i.masks,
            i.delivered,
            i.level_mask,
            i.level_pending,
            i.level_raised
        );
    }
    out
}

/// The kernel's picture checked from outside: counts agree with the objects listed, receiver
/// counts with RECEIVE-blocked threads, queued counts cover SEND-blocked threads, nobody waits
/// on a channel that is gone.
fn consistency(k: &Kernel) -> Result<(), String> {
    let s = k.snapshot();
    let u = k.pool_usage();
    if u.processes.live as usize != s.processes.len() {
        return Err(format!(
            "pool says {} processes, snapshot lists {}",
            u.processes.live,
            s.processes.len()
        ));
    }
    if u.threads.live as usize != s.threads.len() {
        return Err(format!(
            "pool says {} threads, snapshot lists {}",
            u.threads.live,
            s.threads.len()
        ));
    }
    if u.channels.live as usize != s.channels.len() {
        return Err(format!(
            "pool says {} channels, snapshot lists {}",
            u.channels.live,
            s.channels.len()
        ));
    }
    for p in &s.processes {
        let n = s.threads.iter().filter(|t| t.pid == p.pid).count();
        if n as u32 != p.threads {
            return Err(format!(
                "process {} says {} threads, {} listed",
                p.pid, p.threads, n
            ));
        }
    }
    for c in &s.channels {
        let recv = s
            .threads
            .iter()
            .filter(|t| t.pid == c.pid && t.state == ThreadState::Receive { chid: c.chid })
            .count() as u32;
        if recv != c.receivers {
            return Err(format!(
                "channel {}/{} counts {} receivers, {} threads RECEIVE-blocked on it",
                c.pid, c.chid, c.receivers, recv
            ));
        }
        let send = s
            .threads
            .iter()
            .filter(|t| {
                t.state
                    == ThreadState::Send {
                        pid: c.pid,
                        chid: c.chid,
                    }
            })
            .count() as u32;
        if send > c.queued {
            return Err(format!(
                "channel {}/{} queues {}, {} threads SEND-blocked on it",
                c.pid, c.chid, c.queued, send
            ));
        }
    }
    for t in &s.threads {
        let bad = match t.state {
            ThreadState::Send { pid, chid } | ThreadState::Reply { pid, chid, .. } => {
                !s.channels.iter().any(|c| c.pid == pid && c.chid == chid)
            }
            ThreadState::Receive { chid } => {
                !s.channels.iter().any(|c| c.pid == t.pid && c.chid == chid)
            }
            _ => false,
        };
        if bad {
            return Err(format!(
                "thread {}/{} waits on a channel that is gone: {:?}",
                t.pid, t.tid, t.state
            ));
        }
    }
    Ok(())
}

fn pattern(op: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (op as u8).wrapping_mul(31) ^ i as u8)
        .collect()
}

impl World {
    fn new(log: Arc<Mutex<Vec<String>>>) -> World {
        let k = Kernel::new(small_config()).expect("kernel");
        let baseline = k.pool_usage();
        let mut w = World {
            k,
            baseline,
            procs: Vec::new(),
            dead_pids: Vec::new(),
            orphans: Vec::new(),
            rcvids: Vec::new(),
            log,
            opn: 0,
        };
        for _ in 0..NPROCS {
            let p = w.new_proc();
            w.procs.push(p);
        }
        // A populated start: each process has a channel (plain, UNBLOCK|DISCONNECT,
        // UNBLOCK|COID_DISCONNECT) and a side-channel coid to every process's channel.
        let flags = [
            0,
            _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT,
            _NTO_CHF_UNBLOCK | _NTO_CHF_COID_DISCONNECT,
        ];
        for i in 0..NPROCS {
            let p = w.procs[i].as_mut().expect("process");
            let chid = p.main.channel_create(flags[i % 3]).expect("ChannelCreate");
            p.chids_seen.push(chid);
        }
        let pids = w.proc_pids();
        for i in 0..NPROCS {
            for &pid in &pids {
                let p = w.procs[i].as_mut().unwrap();
                let coid = p
                    .main
                    .connect_attach(0, pid, 1, _NTO_SIDE_CHANNEL, 0)
                    .expect("ConnectAttach");
                p.coids_seen.push(coid);
            }
        }
        w
    }

    fn new_proc(&mut self) -> Option<Proc> {
        let pid = self.k.process_create().ok()?;
        let main = match self.k.thread_attach(pid, 10) {
            Ok(m) => m,
            Err(_) => {
                let _ = self.k.process_destroy(pid);
                return None;
            }
        };
        let helpers = (0..NHELPERS)
            .filter_map(|_| spawn_helper(&self.k, pid))
            .collect();
        Some(Proc {
            pid,
            main,
            helpers,
            chids_seen: Vec::new(),
            coids_seen: Vec::new(),
            timers_seen: Vec::new(),
            intrs_seen: Vec::new(),
            intrs_live: std::collections::HashMap::new(),
            timers_live: HashSet::new(),
            scoids_seen: HashSet::new(),
            last_arm: None,
            timers_armed: false,
        })
    }

    fn fail(&self, msg: String) -> Fail {
        let log = self.log.lock().unwrap();
        format!("{msg}\n-- ops so far:\n{}", log.join("\n"))
    }

    fn note(&self, s: String) {
        self.log.lock().unwrap().push(s);
    }

    fn proc_pids(&self) -> Vec<i32> {
        self.procs
            .iter()
            .flatten()
            .map(|p| p.pid.pid)
            .collect::<Vec<_>>()
    }

    /// Live chids of process `pid` (snapshot).
    fn live_chids(&self, pid: i32) -> Vec<i32> {
        self.k
            .snapshot()
            .channels
            .iter()
            .filter(|c| c.pid == pid)
            .map(|c| c.chid)
            .collect()
    }

    /// Live client coids of process `pid`, with (server pid, chid or -1).
    fn live_coids(&self, pid: i32) -> Vec<(i32, i32, i32)> {
        self.k
            .snapshot()
            .connections
            .iter()
            .filter(|c| c.pid == pid)
            .map(|c| (c.coid, c.server_pid, c.chid))
            .collect()
    }

    fn pick(&self, p: usize, s: Sel, kind: u8) -> i32 {
        let me = self.procs[p].as_ref().unwrap();
        let pid = me.pid.pid;
        let from =
            |v: &[i32], n: u8| -> Option<i32> { (!v.is_empty()).then(|| v[n as usize % v.len()]) };
        let seen = |pr: &Proc| -> Vec<i32> {
            match kind {
                0 => pr.chids_seen.clone(),
                1 => pr.coids_seen.clone(),
                3 => pr.intrs_seen.clone(),
                _ => pr.timers_seen.clone(),
            }
        };
        let v = match s {
            Sel::Live(n) => {
                let live: Vec<i32> = match kind {
                    0 => self.live_chids(pid),
                    1 => self.live_coids(pid).iter().map(|c| c.0).collect(),
                    3 => {
                        let mut v: Vec<i32> = me.intrs_live.keys().copied().collect();
                        v.sort();
                        v
                    }
                    _ => {
                        let mut v: Vec<i32> = me.timers_live.iter().copied().collect();
                        v.sort();
                        v
                    }
                };
                from(&live, n)
            }
            Sel::Seen(n) => from(&seen(me), n),
            Sel::Other(n) => {
                let others: Vec<i32> = self
                    .procs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != p)
                    .filter_map(|(_, q)| q.as_ref())
                    .flat_map(seen)
                    .collect();
                from(&others, n)
            }
            Sel::Raw(v) => Some(v),
        };
        v.unwrap_or(match kind {
            0 => 1,
            1 => (_NTO_SIDE_CHANNEL | 1) as i32,
            _ => 1,
        })
    }

    fn pick_rcvid(&self, r: RSel) -> RcvId {
        match r {
            RSel::Known(n) => {
                if self.rcvids.is_empty() {
                    1
                } else {
                    let i = self.rcvids.len() - 1 - (n as usize % self.rcvids.len());
                    self.rcvids[i].rcvid
                }
            }
            RSel::Live(n) => {
                let live: Vec<RcvId> = self
                    .rcvids
                    .iter()
                    .filter(|r| r.live)
                    .map(|r| r.rcvid)
                    .collect();
                if live.is_empty() {
                    self.pick_rcvid(RSel::Known(n))
                } else {
                    live[n as usize % live.len()]
                }
            }
            RSel::Raw(v) => v,
        }
    }

    fn make_ev(&self, p: usize, e: &Ev) -> SigEvent {
        let kind = e.notify & sigev::SIGEV_TYPE_MASK;
        let signo = if matches!(
            kind,
            sigev::SIGEV_SIGNAL | sigev::SIGEV_SIGNAL_CODE | sigev::SIGEV_SIGNAL_THREAD
        ) {
            e.signo_hi
        } else {
            self.pick(p, e.coid, 1) as i64
        };
        SigEvent {
            sigev_notify: e.notify,
            pad0: 0,
            sigev_signo: signo,
            sigev_value: e.value as u32 as u64,
            sigev_code: e.code,
            sigev_priority: e.prio,
            pad1: 0,
        }
    }

    fn all_helpers(&mut self) -> impl Iterator<Item = &mut Helper> {
        self.procs
            .iter_mut()
            .flatten()
            .flat_map(|p| p.helpers.iter_mut())
            .chain(self.orphans.iter_mut())
    }

    /// Whether anything may change the tables behind the test's back right now.
    fn volatile(&self) -> bool {
        self.procs
            .iter()
            .flatten()
            .flat_map(|p| p.helpers.iter())
            .chain(self.orphans.iter())
            .any(|h| h.pending.as_ref().is_some_and(|p| p.short || p.volatile))
    }

    fn timers_armed(&self) -> bool {
        self.procs.iter().flatten().any(|p| p.timers_armed)
    }

    /// Collects every helper result that has arrived, checking each.
    fn collect(&mut self) -> Result<(), Fail> {
        let mut done = Vec::new();
        for h in self.all_helpers() {
            if let Ok(d) = h.rx.try_recv() {
                let pend = h.pending.take();
                done.push(((h.pid, h.tid), pend, d));
            }
        }
        for (who, pend, d) in done {
            self.judge(who, pend, d)?;
        }
        Ok(())
    }

    /// Waits until helper `who`'s result arrives (it must, promptly), and judges it.
    fn wait_done(&mut self, who: (i32, i32), why: &str) -> Result<(), Fail> {
        let deadline = Instant::now() + PROMPT;
        loop {
            let mut got = None;
            for h in self.all_helpers() {
                if (h.pid, h.tid) == who {
                    if let Ok(d) = h.rx.try_recv() {
                        got = Some((h.pending.take(), d));
                    } else if h.pending.is_none() {
                        return Ok(());
                    }
                }
            }
            if let Some((pend, d)) = got {
                return self.judge(who, pend, d);
            }
            if Instant::now() > deadline {
                let st = self.k.thread_info(who.0, who.1);
                return Err(self.fail(format!(
                    "client {who:?} did not return within {PROMPT:?} after {why}; it is {st:?}"
                )));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn judge(&mut self, who: (i32, i32), pend: Option<Pending>, d: Done) -> Result<(), Fail> {
        for r in self.rcvids.iter_mut() {
            if r.client == who {
                r.live = false;
            }
        }
        let Some(p) = pend else {
            return Err(self.fail(format!(
                "client {who:?} returned {d:?} with no send pending"
            )));
        };
        self.note(format!(
            "   client {who:?} (send of op {}) returned {:?} after {:?}",
            p.op, d.res, d.elapsed
        ));
        if let Err(e) = d.res {
            ensure!(
                self,
                allowed("MsgSend").contains(&e) || matches!(p.expect, Expect::Err(x) if x == e.0),
                "MsgSend of op {} returned {e:?}, outside QNX's documented set",
                p.op
            );
        }
        if p.own_death {
            ensure!(
                self,
                d.res.is_err(),
                "client of a destroyed process returned {:?}",
                d.res
            );
            return Ok(());
        }
        if p.forced {
            // (A send bounded by a short timeout may have timed out before the detach, as
            // one blocked on a destroyed channel may: below.)
            ensure!(
                self,
                matches!(d.res, Err(Errno::EBADF) | Err(Errno::ESRCH))
                    || ((p.short || p.volatile) && d.res == Err(Errno::ETIMEDOUT)),
                "client whose coid a sibling detached returned {:?}, not EBADF (op {})",
                d.res,
                p.op
            );
            return Ok(());
        }
        if p.killed && matches!(p.expect, Expect::Nothing) {
            ensure!(
                self,
                d.res == Err(Errno::ESRCH)
                    || ((p.short || p.volatile) && d.res == Err(Errno::ETIMEDOUT)),
                "client blocked on a destroyed channel returned {:?}, not ESRCH (op {})",
                d.res,
                p.op
            );
            return Ok(());
        }
        match &p.expect {
            Expect::Status(s, data) => {
                if d.res == Ok(*s) {
                    let n = data.len().min(p.rlen);
                    ensure!(
                        self,
                        d.reply[..n] == data[..n],
                        "client got status {s} but the wrong reply bytes (op {})",
                        p.op
                    );
                } else {
                    ensure!(
                        self,
                        false,
                        "client replied with status {s} returned {:?} (op {})",
                        d.res,
                        p.op
                    );
                }
            }
            Expect::Err(0) => ensure!(
                self,
                d.res == Ok(0),
                "MsgError(EOK) made the client return {:?}",
                d.res
            ),
            Expect::Err(-1) => ensure!(
                self,
                matches!(d.res, Err(Errno::ETIMEDOUT) | Err(Errno::EINTR)),
                "MsgError(-1) (the unblock reason) made the client return {:?}",
                d.res
            ),
            Expect::Err(e) => ensure!(
                self,
                d.res == Err(Errno(*e)),
                "MsgError({e}) made the client return {:?}",
                d.res
            ),
            Expect::Nothing => {
                match d.res {
                    Ok(v) => ensure!(
                        self,
                        false,
                        "client returned Ok({v}) though no server answered it (op {}): a reply reached the wrong client",
                        p.op
                    ),
                    Err(Errno::ETIMEDOUT) => {
                        ensure!(
                            self,
                            p.short || p.volatile,
                            "client with a {LONG_NS} ns timeout returned ETIMEDOUT after {:?} (op {})",
                            d.elapsed,
                            p.op
                        );
                    }
                    Err(e) => ensure!(
                        self,
                        p.volatile,
                        "client returned {e:?} though nothing ended its send (op {})",
                        p.op
                    ),
                }
            }
        }
        if p.short && !p.unblock_chan && !p.volatile && matches!(p.expect, Expect::Nothing) {
            let bound = Duration::from_nanos(p.tns.unwrap_or(0)) + SLACK;
            ensure!(
                self,
                d.elapsed <= bound,
                "client blocked {:?}, past its TimerTimeout of {:?} ns",
                d.elapsed,
                p.tns
            );
        }
        Ok(())
    }

    fn helper_mut(&mut self, who: (i32, i32)) -> Option<&mut Helper> {
        self.all_helpers().find(|h| (h.pid, h.tid) == who)
    }

    /// Checks a result against the call's documented set.
    fn check_set<T: std::fmt::Debug>(&self, call: &str, r: &KResult<T>) -> Result<(), Fail> {
        if let Err(e) = r {
            if soft_allowed(call).contains(e) {
                note_soft(call, *e);
                return Ok(());
            }
            ensure!(
                self,
                allowed(call).contains(e),
                "{call} returned {e:?}, outside the errnos QNX documents for it ({:?})",
                allowed(call)
            );
        }
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), Fail> {
        self.opn += 1;
        let n = self.opn;
        self.collect()?;
        let pidx = match op {
            Op::ChannelCreate { p, .. }
            | Op::ChannelDestroy { p, .. }
            | Op::ConnectAttach { p, .. }
            | Op::ConnectDetach { p, .. }
            | Op::SendPoll { p, .. }
            | Op::SendRaw { p, .. }
            | Op::ClientSend { p, .. }
            | Op::Receive { p, .. }
            | Op::Reply { p, .. }
            | Op::Error { p, .. }
            | Op::Read { p, .. }
            | Op::Write { p, .. }
            | Op::Info { p, .. }
            | Op::Pulse { p, .. }
            | Op::Deliver { p, .. }
            | Op::TimerTimeout { p, .. }
            | Op::TimerCreate { p, .. }
            | Op::TimerSettime { p, .. }
            | Op::TimerInfo { p, .. }
            | Op::TimerDestroy { p, .. }
            | Op::SetPrio { p, .. }
            | Op::SchedSet { p, .. }
            | Op::IntrAttach { p, .. }
            | Op::IntrDetach { p, .. }
            | Op::IntrMask { p, .. }
            | Op::IntrWait { p, .. }
            | Op::IntrRaise { p, .. }
            | Op::ProcessExit { p } => *p as usize,
        };
        if self.procs[pidx].is_none() {
            return Ok(());
        }
        let stable = !self.volatile();
        let with_queued = !self.timers_armed();
        let before = if stable {
            Some(norm_snapshot(&self.k, with_queued))
        } else {
            None
        };
        // Whether a failure of this op must leave the tables unchanged.
        let mut failed_pure = false;
        // (A client send is made by a helper, a raise by the hardware: the main thread's arm
        // stays.)
        let was_arm = if matches!(op, Op::ClientSend { .. } | Op::IntrRaise { .. }) {
            self.procs[pidx].as_ref().unwrap().last_arm
        } else {
            self.procs[pidx].as_mut().unwrap().last_arm.take()
        };
        let mypid = self.procs[pidx].as_ref().unwrap().pid.pid;
        match op {
            Op::ChannelCreate { flags, .. } => {
                let live = self.live_chids(mypid);
                let r = self.me(pidx).channel_create(*flags);
                self.note(format!("{n}: p{pidx} ChannelCreate({flags:#x}) = {r:?}"));
                self.check_set("ChannelCreate", &r)?;
                match r {
                    Ok(chid) => {
                        ensure!(
                            self,
                            chid >= 1
                                && chid <= small_config().chids_per_process as i32
                                && !live.contains(&chid),
                            "ChannelCreate returned chid {chid}, live already or out of range ({live:?})"
                        );
                        let me = self.procs[pidx].as_mut().unwrap();
                        if !me.chids_seen.contains(&chid) {
                            me.chids_seen.push(chid);
                        }
                    }
                    Err(e) => {
                        failed_pure = true;
                        if *flags & _NTO_CHF_NET_MSG != 0 && *flags & !CHF_ACCEPTED == 0 {
                            ensure!(
                                self,
                                e == Errno::EPERM,
                                "ChannelCreate(_NTO_CHF_NET_MSG) = {e:?}, not EPERM"
                            );
                        }
                    }
                }
            }
            Op::ChannelDestroy { chid, .. } => {
                let chid = self.pick(pidx, *chid, 0);
                let live = self.live_chids(mypid).contains(&chid);
                let r = self.me(pidx).channel_destroy(chid);
                self.note(format!("{n}: p{pidx} ChannelDestroy({chid}) = {r:?}"));
                self.check_set("ChannelDestroy", &r)?;
                ensure!(
                    self,
                    r.is_ok() == live,
                    "ChannelDestroy({chid}) = {r:?} but the chid is {}",
                    if live { "live" } else { "not live" }
                );
                if r.is_ok() {
                    self.released_on(|p| p.target == (mypid, chid), "ChannelDestroy")?;
                } else {
                    failed_pure = true;
                }
            }
            Op::ConnectAttach {
                nd,
                pid,
                chid,
                index,
                flags,
                ..
            } => {
                let pids = self.proc_pids();
                let tpid = match *pid {
                    PSel::Zero => 0,
                    PSel::Proc(i) => pids[i as usize % pids.len()],
                    PSel::Dead(i) if !self.dead_pids.is_empty() => {
                        self.dead_pids[i as usize % self.dead_pids.len()]
                    }
                    PSel::Dead(_) => 9999,
                    PSel::Raw(v) => v,
                };
                let real = if tpid == 0 { mypid } else { tpid };
                let tidx = self
                    .procs
                    .iter()
                    .position(|q| q.as_ref().is_some_and(|q| q.pid.pid == real));
                let chid = match tidx {
                    Some(t) if !matches!(chid, Sel::Raw(_)) => {
                        // A chid of the target (live or seen), or another process's.
                        let live = self.live_chids(real);
                        let seen = &self.procs[t].as_ref().unwrap().chids_seen;
                        match *chid {
                            Sel::Live(i) if !live.is_empty() => live[i as usize % live.len()],
                            Sel::Seen(i) if !seen.is_empty() => seen[i as usize % seen.len()],
                            s => self.pick(pidx, s, 0),
                        }
                    }
                    _ => self.pick(pidx, *chid, 0),
                };
                let target_live = self.live_chids(real).contains(&chid);
                let before_coids: Vec<i32> = self.live_coids(mypid).iter().map(|c| c.0).collect();
                let r = self
                    .me(pidx)
                    .connect_attach(*nd, tpid, chid, *index, *flags);
                self.note(format!(
                    "{n}: p{pidx} ConnectAttach(nd {nd}, pid {tpid}, chid {chid}, index {index:#x}, flags {flags:#x}) = {r:?}"
                ));
                self.check_set("ConnectAttach", &r)?;
                let pid_alive = pids.contains(&real);
                let args_ok = *nd == 0
                    && *flags & !COF_ACCEPTED == 0
                    && (*index & _NTO_SIDE_CHANNEL != 0
                        || *index < small_config().fd_coids_per_process);
                match r {
                    Ok(coid) => {
                        ensure!(
                            self,
                            pid_alive && target_live && args_ok,
                            "ConnectAttach succeeded (coid {coid:#x}) for pid {tpid} chid {chid} (pid alive {pid_alive}, chid live {target_live}, args ok {args_ok})"
                        );
                        ensure!(
                            self,
                            !before_coids.contains(&coid),
                            "ConnectAttach returned coid {coid:#x}, already live"
                        );
                        let side = *index & _NTO_SIDE_CHANNEL != 0;
                        ensure!(
                            self,
                            (coid as u32 & _NTO_SIDE_CHANNEL != 0) == side
                                && coid != _NTO_SIDE_CHANNEL as i32
                                && (side || coid as u32 >= *index),
                            "ConnectAttach(index {index:#x}) returned coid {coid:#x}"
                        );
                        let me = self.procs[pidx].as_mut().unwrap();
                        if !me.coids_seen.contains(&coid) {
                            me.coids_seen.push(coid);
                        }
                    }
                    Err(e) => {
                        failed_pure = true;
                        if args_ok && !pid_alive {
                            ensure!(
                                self,
                                e == Errno::ESRCH || e == Errno::ENXIO,
                                "ConnectAttach to a pid that is not alive ({tpid}) = {e:?}, not ESRCH"
                            );
                        }
                        if args_ok && pid_alive && !target_live {
                            ensure!(
                                self,
                                e == Errno::ESRCH,
                                "ConnectAttach to a chid that is not live ({tpid}/{chid}) = {e:?}, not ESRCH"
                            );
                        }
                        if *nd == 0 && *flags & !COF_ACCEPTED != 0 && pid_alive && target_live {
                            ensure!(
                                self,
                                e == Errno::EINVAL,
                                "ConnectAttach with undefined flags {flags:#x} = {e:?}"
                            );
                        }
                    }
                }
            }
            Op::ConnectDetach { coid, .. } => {
                let coid = self.pick(pidx, *coid, 1);
                let snap = self.k.snapshot();
                let live = snap
                    .connections
                    .iter()
                    .any(|c| c.pid == mypid && c.coid == coid);
                let scoid_linked = snap
                    .connections
                    .iter()
                    .any(|c| c.server_pid == mypid && c.scoid == coid && c.chid != -1);
                let known_scoid = self.procs[pidx]
                    .as_ref()
                    .unwrap()
                    .scoids_seen
                    .contains(&coid);
                let r = self.me(pidx).connect_detach(coid);
                self.note(format!("{n}: p{pidx} ConnectDetach({coid:#x}) = {r:?}"));
                self.check_set("ConnectDetach", &r)?;
                if live {
                    ensure!(
                        self,
                        r.is_ok(),
                        "ConnectDetach of live coid {coid:#x} = {r:?}"
                    );
                } else if scoid_linked {
                    ensure!(
                        self,
                        r == Err(Errno::EINVAL),
                        "ConnectDetach of scoid {coid:#x} whose client is connected = {r:?}, not EINVAL"
                    );
                } else if !known_scoid && coid as u32 & _NTO_SIDE_CHANNEL == 0 {
                    ensure!(
                        self,
                        r == Err(Errno::EINVAL),
                        "ConnectDetach of {coid:#x}, which names no coid or scoid of the process = {r:?}, not EINVAL"
                    );
                }
                if r.is_ok() && live {
                    self.detached(pidx, coid)?;
                }
                if r.is_err() {
                    failed_pure = true;
                }
            }
            Op::SendPoll {
                coid, slen, rlen, ..
            } => {
                let coid = self.pick(pidx, *coid, 1);
                let conn = self.live_coids(mypid).into_iter().find(|c| c.0 == coid);
                let smsg = pattern(n, *slen);
                let mut rbuf = vec![0u8; *rlen];
                let t0 = Instant::now();
                let a = self.me(pidx).timer_timeout(
                    CLOCK_MONOTONIC,
                    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                    None,
                );
                let r = self.me(pidx).msg_send(coid, &smsg, &mut rbuf);
                self.note(format!(
                    "{n}: p{pidx} MsgSend(poll, {coid:#x}, {slen}, {rlen}) = {r:?}"
                ));
                ensure!(self, a.is_ok(), "TimerTimeout(poll) = {a:?}");
                self.check_set("MsgSend", &r)?;
                ensure!(
                    self,
                    t0.elapsed() < SLACK,
                    "a polled MsgSend blocked {:?}",
                    t0.elapsed()
                );
                match conn {
                    None => ensure!(
                        self,
                        r == Err(Errno::EBADF),
                        "MsgSend on {coid:#x}, not a live coid of the process = {r:?}, not EBADF"
                    ),
                    Some((_, _, -1)) => ensure!(
                        self,
                        r == Err(Errno::EBADF),
                        "MsgSend on coid {coid:#x} whose channel is gone = {r:?}, not EBADF"
                    ),
                    Some(_) => ensure!(
                        self,
                        r == Err(Errno::ETIMEDOUT) || r == Err(Errno::ENXIO),
                        "a polled MsgSend with no receiver = {r:?}, not ETIMEDOUT"
                    ),
                }
            }
            Op::SendRaw { coid, lens, .. } => {
                let coid = self.pick(pidx, *coid, 1);
                let iovs: Vec<Iov> = lens.iter().map(|&len| Iov { base: 0, len }).collect();
                let a = self.me(pidx).timer_timeout(
                    CLOCK_MONOTONIC,
                    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                    None,
                );
                // SAFETY: every part has a null base: the kernel refuses a null base with a
                // length (EFAULT) and overflowing lengths (EOVERFLOW) before touching
                // anything; zero-length parts are never dereferenced.
                let r = unsafe { self.me(pidx).msg_sendv_raw(coid, &iovs, &[]) };
                self.note(format!(
                    "{n}: p{pidx} MsgSendv(raw, {coid:#x}, {lens:?}) = {r:?}"
                ));
                ensure!(self, a.is_ok(), "TimerTimeout(poll) = {a:?}");
                self.check_set("MsgSend", &r)?;
                if lens.iter().any(|&l| l > 0) {
                    ensure!(
                        self,
                        matches!(r, Err(Errno::EFAULT) | Err(Errno::EOVERFLOW)),
                        "MsgSendv with a null-based part = {r:?}, not EFAULT"
                    );
                }
            }
            Op::ClientSend {
                h,
                coid,
                slen,
                rlen,
                short,
                ..
            } => {
                self.client_send(pidx, *h as usize, *coid, *slen, *rlen, *short, n)?;
            }
            Op::Receive {
                chid,
                blen,
                pulse_only,
                ntime,
                ..
            } => {
                let chid = self.pick(pidx, *chid, 0);
                self.receive(pidx, chid, *blen, *pulse_only, *ntime, n, None)?;
            }
            Op::TimerTimeout {
                clock,
                flags,
                ev,
                ntime,
                then_receive,
                ..
            } => {
                let sev = ev.map(|e| self.make_ev(pidx, &e));
                let r = self
                    .me(pidx)
                    .timer_timeout_event(*clock, *flags, sev.as_ref(), *ntime);
                self.note(format!(
                    "{n}: p{pidx} TimerTimeout(clock {clock}, {flags:#x}, {sev:?}, {ntime:?}) = {r:?}"
                ));
                self.check_set("TimerTimeout", &r)?;
                if *clock != CLOCK_MONOTONIC && *clock != CLOCK_REALTIME {
                    ensure!(
                        self,
                        r == Err(Errno::EINVAL),
                        "TimerTimeout(clock {clock}) = {r:?}"
                    );
                }
                if let Ok(old) = r {
                    let expect = was_arm.unwrap_or(0);
                    ensure!(
                        self,
                        old == expect,
                        "TimerTimeout returned {old:#x}, the previous arm was {expect:#x}"
                    );
                    self.procs[pidx].as_mut().unwrap().last_arm = Some(*flags & _NTO_TIMEOUT_MASK);
                    let unblock = sev.is_none_or(|e| e.kind() == sigev::SIGEV_UNBLOCK);
                    let bounded = *flags & _NTO_TIMEOUT_RECEIVE != 0
                        && unblock
                        && match ntime {
                            None => true,
                            Some(t) => {
                                *t <= 1_000_000 || *flags & TIMER_ABSTIME != 0 && *t < 1 << 40
                            }
                        };
                    if let (Some(s), true) = (then_receive, bounded) {
                        let chid = self.pick(pidx, *s, 0);
                        let bound = if *flags & TIMER_ABSTIME != 0 {
                            0
                        } else {
                            ntime.unwrap_or(0)
                        };
                        self.procs[pidx].as_mut().unwrap().last_arm = None;
                        self.receive(pidx, chid, 64, false, None, n, Some(bound))?;
                    }
                } else {
                    failed_pure = true;
                }
            }
            Op::Reply { r, len, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let exp = self.rcvid_expect(pidx, rcvid);
                let status = 1000 + n as i64;
                let data = pattern(n + 7, *len);
                let res = self.me(pidx).msg_reply(rcvid, status, &data);
                self.note(format!(
                    "{n}: p{pidx} MsgReply({rcvid:#x}, {status}, {len}) = {res:?} [{exp:?}]"
                ));
                self.check_set("MsgReply", &res)?;
                self.check_rcvid_result("MsgReply", rcvid, &exp, &res)?;
                if res.is_ok() {
                    if let Some(who) = exp.client {
                        self.answered(who, Expect::Status(status, data))?;
                    }
                } else {
                    failed_pure = true;
                }
            }
            Op::Error { r, err, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let exp = self.rcvid_expect(pidx, rcvid);
                let res = self.me(pidx).msg_error(rcvid, Errno(*err));
                self.note(format!(
                    "{n}: p{pidx} MsgError({rcvid:#x}, {err}) = {res:?} [{exp:?}]"
                ));
                self.check_set("MsgError", &res)?;
                let valid_err = *err == 0 || (1..=4095).contains(err);
                if exp.live && !exp.uncertain {
                    if valid_err {
                        ensure!(
                            self,
                            res.is_ok(),
                            "MsgError({rcvid:#x}, {err}) on a live rcvid = {res:?}"
                        );
                    } else if *err != -1 {
                        ensure!(
                            self,
                            res == Err(Errno::EINVAL),
                            "MsgError(.., {err}) = {res:?}"
                        );
                    }
                } else if !exp.live {
                    ensure!(
                        self,
                        res == Err(Errno::ESRCH),
                        "MsgError on rcvid {rcvid:#x}, which names no REPLY-blocked client ({exp:?}) = {res:?}, not ESRCH"
                    );
                }
                if res.is_ok() {
                    if let Some(who) = exp.client {
                        if *err == Errno::ERESTART.0 {
                            self.restarted(who)?;
                        } else {
                            self.answered(who, Expect::Err(*err))?;
                        }
                    }
                } else {
                    failed_pure = true;
                }
            }
            Op::Read { r, len, offset, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let exp = self.rcvid_expect(pidx, rcvid);
                let mut buf = vec![0u8; *len];
                let res = self.me(pidx).msg_read(rcvid, &mut buf, *offset);
                self.note(format!(
                    "{n}: p{pidx} MsgRead({rcvid:#x}, {len}, {offset}) = {res:?} [{exp:?}]"
                ));
                self.check_set("MsgRead", &res)?;
                self.check_rcvid_result("MsgRead", rcvid, &exp, &res)?;
                if let (Ok(got), Some(who)) = (res, exp.client) {
                    if let Some(p) = self.pending_of(who) {
                        let want = if *offset >= p.smsg.len() {
                            0
                        } else {
                            (p.smsg.len() - offset).min(*len)
                        };
                        ensure!(self, got == want, "MsgRead copied {got}, expected {want}");
                        ensure!(
                            self,
                            buf[..got] == p.smsg[*offset.min(&p.smsg.len())..][..got],
                            "MsgRead copied the wrong bytes"
                        );
                    }
                }
                if res.is_err() {
                    failed_pure = true;
                }
            }
            Op::Write { r, len, offset, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let exp = self.rcvid_expect(pidx, rcvid);
                let buf = pattern(n, *len);
                let res = self.me(pidx).msg_write(rcvid, &buf, *offset);
                self.note(format!(
                    "{n}: p{pidx} MsgWrite({rcvid:#x}, {len}, {offset}) = {res:?} [{exp:?}]"
                ));
                self.check_set("MsgWrite", &res)?;
                self.check_rcvid_result("MsgWrite", rcvid, &exp, &res)?;
                if let (Ok(got), Some(who)) = (res, exp.client) {
                    if let Some(p) = self.pending_of(who) {
                        let want = if *offset >= p.rlen {
                            0
                        } else {
                            (p.rlen - offset).min(*len)
                        };
                        ensure!(self, got == want, "MsgWrite copied {got}, expected {want}");
                    }
                }
                if res.is_err() {
                    failed_pure = true;
                }
            }
            Op::Info { r, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let exp = self.rcvid_expect(pidx, rcvid);
                let res = self.me(pidx).msg_info(rcvid);
                self.note(format!(
                    "{n}: p{pidx} MsgInfo({rcvid:#x}) = {:?} [{exp:?}]",
                    res.map(|i| (i.pid, i.tid, i.chid))
                ));
                self.check_set("MsgInfo", &res)?;
                self.check_rcvid_result("MsgInfo", rcvid, &exp, &res)?;
                if let (Ok(info), Some(who)) = (res, exp.client) {
                    ensure!(
                        self,
                        (info.pid, info.tid) == who,
                        "MsgInfo({rcvid:#x}) names {}/{}, the rcvid's client is {who:?}",
                        info.pid,
                        info.tid
                    );
                    if let Some(p) = self.pending_of(who) {
                        ensure!(
                            self,
                            info.srcmsglen == p.smsg.len() as i64
                                && info.dstmsglen == p.rlen as i64
                                && info.coid == p.coid
                                && info.chid == p.target.1,
                            "MsgInfo {info:?} does not describe the client's send"
                        );
                    }
                }
                if res.is_err() {
                    failed_pure = true;
                }
            }
            Op::Pulse {
                coid,
                prio,
                code,
                value,
                ..
            } => {
                let coid = self.pick(pidx, *coid, 1);
                let conn = self.live_coids(mypid).into_iter().find(|c| c.0 == coid);
                let r = self.me(pidx).msg_send_pulse(coid, *prio, *code, *value);
                self.note(format!(
                    "{n}: p{pidx} MsgSendPulse({coid:#x}, {prio}, {code}, {value}) = {r:?}"
                ));
                self.check_set("MsgSendPulse", &r)?;
                let prio_ok = *prio == -1 || (1..=255).contains(prio);
                let code_ok = (0..=127).contains(code);
                match conn {
                    None => ensure!(
                        self,
                        r == Err(Errno::EBADF),
                        "MsgSendPulse on {coid:#x}, not a live coid = {r:?}, not EBADF"
                    ),
                    Some((_, _, -1)) => ensure!(
                        self,
                        r == Err(Errno::EBADF),
                        "MsgSendPulse on a coid whose channel is gone = {r:?}, not EBADF"
                    ),
                    Some(_) if !prio_ok || !code_ok => ensure!(
                        self,
                        r == Err(Errno::EINVAL),
                        "MsgSendPulse(prio {prio}, code {code}) = {r:?}, not EINVAL"
                    ),
                    Some(_) => ensure!(
                        self,
                        r.is_ok() || r == Err(Errno::EAGAIN),
                        "MsgSendPulse on a live coid = {r:?}"
                    ),
                }
                if r.is_err() {
                    failed_pure = true;
                }
            }
            Op::Deliver { r, ev, verify, .. } => {
                let rcvid = self.pick_rcvid(*r);
                let sev = self.make_ev(pidx, ev);
                let res = if *verify {
                    self.me(pidx).msg_verify_event(rcvid, &sev)
                } else {
                    self.me(pidx).msg_deliver_event(rcvid, &sev)
                };
                let call = if *verify {
                    "MsgVerifyEvent"
                } else {
                    "MsgDeliverEvent"
                };
                self.note(format!(
                    "{n}: p{pidx} {call}({rcvid:#x}, {sev:?}) = {res:?}"
                ));
                self.check_set(call, &res)?;
                // An rcvid only other servers received names no client of ours.
                let ours = self
                    .rcvids
                    .iter()
                    .any(|x| x.rcvid == rcvid && x.server_pid == mypid);
                let theirs = self
                    .rcvids
                    .iter()
                    .any(|x| x.rcvid == rcvid && x.server_pid != mypid);
                if theirs && !ours && res.is_ok() {
                    // An rcvid of a thread this server never received names nobody of ours
                    // (deliver_event_refuses_an_rcvid_another_server_received). One of a
                    // thread it received another message of is let through: the kernel knows
                    // which servers received a thread, not which message (deviations.md).
                    let slot = |r: RcvId| r & 0x7fff;
                    let received_thread = self
                        .rcvids
                        .iter()
                        .any(|x| slot(x.rcvid) == slot(rcvid) && x.server_pid == mypid);
                    ensure!(
                        self,
                        received_thread,
                        "{call} took rcvid {rcvid:#x}, which only another server received, \
                         from a server that never received that thread"
                    );
                    note_soft(
                        "MsgDeliverEvent/MsgVerifyEvent with an earlier rcvid of a thread this \
                         server received another message of",
                        Errno::EOK,
                    );
                }
                if res.is_ok() && !*verify && sev.kind() == sigev::SIGEV_UNBLOCK {
                    // It may have released a client: its send may now end with ETIMEDOUT.
                    let client = self
                        .rcvids
                        .iter()
                        .find(|x| x.rcvid == rcvid)
                        .map(|x| x.client);
                    for h in self.all_helpers() {
                        if let Some(p) = h.pending.as_mut() {
                            if client.is_none() || client == Some((h.pid, h.tid)) {
                                p.volatile = true;
                            }
                        }
                    }
                }
                if res.is_err() {
                    failed_pure = true;
                }
            }
            Op::TimerCreate { clock, ev, .. } => {
                let sev = self.make_ev(pidx, ev);
                let r = self.me(pidx).timer_create(*clock, Some(&sev));
                self.note(format!(
                    "{n}: p{pidx} TimerCreate({clock}, {sev:?}) = {r:?}"
                ));
                self.check_set("TimerCreate", &r)?;
                match r {
                    Ok(id) => {
                        let me = self.procs[pidx].as_mut().unwrap();
                        ensure!(
                            self,
                            id > 0 && !me.timers_live.contains(&id),
                            "TimerCreate returned id {id}"
                        );
                        let me = self.procs[pidx].as_mut().unwrap();
                        me.timers_live.insert(id);
                        me.timers_seen.push(id);
                    }
                    Err(_) => failed_pure = true,
                }
            }
            Op::TimerSettime {
                id,
                flags,
                value,
                interval,
                ..
            } => {
                let id = self.pick(pidx, *id, 2);
                let live = self.procs[pidx].as_ref().unwrap().timers_live.contains(&id);
                let r = self.me(pidx).timer_settime(id, *flags, *value, *interval);
                self.note(format!(
                    "{n}: p{pidx} TimerSettime({id}, {flags:#x}, {value}, {interval}) = {r:?}"
                ));
                self.check_set("TimerSettime", &r)?;
                if !live {
                    ensure!(
                        self,
                        r.is_err(),
                        "TimerSettime on timer {id}, not a live timer of the process = {r:?}"
                    );
                } else if *flags & !TIMER_ABSTIME == 0 {
                    ensure!(self, r.is_ok(), "TimerSettime on a live timer = {r:?}");
                }
                if r.is_ok() && *value != 0 {
                    self.procs[pidx].as_mut().unwrap().timers_armed = true;
                }
                if r.is_err() {
                    failed_pure = true;
                }
            }
            Op::TimerInfo { id, .. } => {
                let id = self.pick(pidx, *id, 2);
                let live = self.procs[pidx].as_ref().unwrap().timers_live.contains(&id);
                let r = self.me(pidx).timer_info(id);
                self.note(format!("{n}: p{pidx} TimerInfo({id}) = {r:?}"));
                self.check_set("TimerInfo", &r)?;
                ensure!(
                    self,
                    r.is_ok() == live,
                    "TimerInfo({id}) = {r:?}, timer live: {live}"
                );
                if r.is_err() {
                    failed_pure = true;
                }
            }
            Op::TimerDestroy { id, .. } => {
                let id = self.pick(pidx, *id, 2);
                let live = self.procs[pidx].as_ref().unwrap().timers_live.contains(&id);
                let r = self.me(pidx).timer_destroy(id);
                self.note(format!("{n}: p{pidx} TimerDestroy({id}) = {r:?}"));
                self.check_set("TimerDestroy", &r)?;
                ensure!(
                    self,
                    r.is_ok() == live,
                    "TimerDestroy({id}) = {r:?}, timer live: {live}"
                );
                if r.is_ok() {
                    self.procs[pidx].as_mut().unwrap().timers_live.remove(&id);
                } else {
                    failed_pure = true;
                }
            }
            Op::SetPrio { prio, .. } => {
                let r = self.me(pidx).set_priority(*prio);
                self.note(format!("{n}: p{pidx} SetPriority({prio}) = {r:?}"));
                self.check_set("SetPriority", &r)?;
                ensure!(
                    self,
                    r.is_ok() == (1..=255).contains(prio),
                    "SetPriority({prio}) = {r:?}"
                );
            }
            Op::SchedSet {
                pid,
                tid,
                policy,
                prio,
                ..
            } => {
                let pids = self.proc_pids();
                let tpid = match *pid {
                    PSel::Zero => 0,
                    PSel::Proc(i) => pids[i as usize % pids.len()],
                    PSel::Dead(i) if !self.dead_pids.is_empty() => {
                        self.dead_pids[i as usize % self.dead_pids.len()]
                    }
                    PSel::Dead(_) => 9999,
                    PSel::Raw(v) => v,
                };
                let me = (mypid, self.me(pidx).tid());
                let target = if *tid == 0 {
                    Some(me)
                } else {
                    let real = if tpid == 0 { mypid } else { tpid };
                    self.k
                        .snapshot()
                        .threads
                        .iter()
                        .find(|th| th.pid == real && th.tid == *tid)
                        .map(|th| (th.pid, th.tid))
                };
                let before = target.and_then(|(p, t)| self.k.thread_info(p, t).ok());
                // (SchedGet with tid 0 looks its pid up, where SchedSet ignores it: read the
                // caller's own with pid 0.)
                let gpid = if *tid == 0 { 0 } else { tpid };
                let before_policy = self.me(pidx).sched_get(gpid, *tid).map(|s| s.0);
                let r = self.me(pidx).sched_set(tpid, *tid, *policy, *prio);
                self.note(format!(
                    "{n}: p{pidx} SchedSet({tpid}, {tid}, {policy}, {prio}) = {r:?}"
                ));
                self.check_set("SchedSet", &r)?;
                let args_ok = (0..=3).contains(policy) && (1..=255).contains(prio);
                match r {
                    Ok(old) => {
                        ensure!(
                            self,
                            args_ok && target.is_some(),
                            "SchedSet({tpid}, {tid}, {policy}, {prio}) succeeded (target {target:?})"
                        );
                        ensure!(
                            self,
                            before.as_ref().is_some_and(|b| b.priority == old),
                            "SchedSet returned {old}, not the priority before ({before:?})"
                        );
                        let got = self.me(pidx).sched_get(gpid, *tid);
                        let want_policy = if *policy == SCHED_NOCHANGE {
                            before_policy.unwrap_or(-1)
                        } else {
                            *policy
                        };
                        ensure!(
                            self,
                            got.is_ok_and(|(pol, base, _)| pol == want_policy && base == *prio),
                            "SchedGet after SchedSet({tpid}, {tid}, {policy}, {prio}) = {got:?}"
                        );
                    }
                    Err(e) => {
                        failed_pure = true;
                        let want = if target.is_none() {
                            Errno::ESRCH
                        } else if *policy == SCHED_SPORADIC {
                            Errno::ENOTSUP
                        } else {
                            Errno::EINVAL
                        };
                        ensure!(
                            self,
                            !(args_ok && target.is_some()) && e == want,
                            "SchedSet({tpid}, {tid}, {policy}, {prio}) = {e:?}, expected {want:?} (target {target:?})"
                        );
                    }
                }
            }
            Op::ProcessExit { .. } => {
                self.process_exit(pidx, n)?;
            }
            Op::IntrAttach {
                level,
                handler,
                ev,
                flags,
                ..
            } => {
                let sev = ev.map_or(SigEvent::intr(), |e| self.make_ev(pidx, &e));
                let r = if *handler {
                    self.me(pidx).interrupt_attach_handler(*level, *flags)
                } else {
                    self.me(pidx).interrupt_attach_event(*level, &sev, *flags)
                };
                self.note(format!(
                    "{n}: p{pidx} InterruptAttach{}({level}, {sev:?}, {flags:#x}) = {r:?}",
                    if *handler { "" } else { "Event" }
                ));
                self.check_set("InterruptAttach", &r)?;
                let bad = !(0..256).contains(level) || *flags & !_NTO_INTR_FLAGS_ALL != 0;
                match r {
                    Ok(id) => {
                        ensure!(
                            self,
                            !bad,
                            "InterruptAttach({level}, flags {flags:#x}) succeeded"
                        );
                        let live_anywhere = self
                            .procs
                            .iter()
                            .flatten()
                            .any(|q| q.intrs_live.contains_key(&id));
                        ensure!(
                            self,
                            id > 0 && !live_anywhere,
                            "InterruptAttach returned id {id}, not positive or live already"
                        );
                        let me = self.procs[pidx].as_mut().unwrap();
                        me.intrs_live.insert(id, *level);
                        me.intrs_seen.push(id);
                    }
                    Err(e) => {
                        failed_pure = true;
                        if bad {
                            ensure!(
                                self,
                                e == Errno::EINVAL,
                                "InterruptAttach({level}, flags {flags:#x}) = {e:?}, not EINVAL"
                            );
                        }
                    }
                }
            }
            Op::IntrDetach { id, .. } => {
                let id = self.pick(pidx, *id, 3);
                let live = self.procs[pidx]
                    .as_ref()
                    .unwrap()
                    .intrs_live
                    .contains_key(&id);
                let theirs = self.procs.iter().enumerate().any(|(i, p)| {
                    i != pidx && p.as_ref().is_some_and(|p| p.intrs_live.contains_key(&id))
                });
                let r = self.me(pidx).interrupt_detach(id);
                self.note(format!("{n}: p{pidx} InterruptDetach({id}) = {r:?}"));
                self.check_set("InterruptDetach", &r)?;
                ensure!(
                    self,
                    r.is_ok() == live,
                    "InterruptDetach({id}) = {r:?}, attachment of the caller live: {live}"
                );
                ensure!(
                    self,
                    r != Err(Errno::EPERM) || theirs,
                    "InterruptDetach({id}) = EPERM, but no other process's attachment is live"
                );
                ensure!(
                    self,
                    !theirs || r == Err(Errno::EPERM),
                    "InterruptDetach({id}) = {r:?} of another process's live attachment, not EPERM"
                );
                if r.is_ok() {
                    self.procs[pidx].as_mut().unwrap().intrs_live.remove(&id);
                } else {
                    failed_pure = true;
                }
            }
            Op::IntrMask {
                level, id, unmask, ..
            } => {
                let id = match *id {
                    Sel::Raw(-1) => -1,
                    s => self.pick(pidx, s, 3),
                };
                let ok = (0..256).contains(level)
                    && (id == -1
                        || self.procs[pidx].as_ref().unwrap().intrs_live.get(&id) == Some(level));
                let r = if *unmask {
                    self.me(pidx).interrupt_unmask(*level, id)
                } else {
                    self.me(pidx).interrupt_mask(*level, id)
                };
                let call = if *unmask {
                    "InterruptUnmask"
                } else {
                    "InterruptMask"
                };
                self.note(format!("{n}: p{pidx} {call}({level}, {id}) = {r:?}"));
                self.check_set(call, &r)?;
                ensure!(
                    self,
                    r.is_ok() == ok,
                    "{call}({level}, {id}) = {r:?}, expected {}",
                    if ok { "success" } else { "EINVAL" }
                );
                if let Ok(count) = r {
                    ensure!(self, *unmask || count >= 1, "{call} returned count {count}");
                    let shown = self
                        .k
                        .snapshot()
                        .interrupts
                        .iter()
                        .find(|i| i.level as i32 == *level)
                        .map(|i| i.level_mask);
                    if let Some(m) = shown {
                        ensure!(
                            self,
                            m == count,
                            "{call}({level}) returned count {count}, the level shows {m}"
                        );
                    }
                } else {
                    failed_pure = true;
                }
            }
            Op::IntrWait { flags, .. } => {
                let t0 = Instant::now();
                let armed = self
                    .me(pidx)
                    .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_INTR, None);
                let r = self.me(pidx).interrupt_wait(*flags);
                let el = t0.elapsed();
                self.note(format!(
                    "{n}: p{pidx} TimerTimeout(INTR, NULL) = {armed:?}; InterruptWait({flags:#x}) = {r:?}"
                ));
                ensure!(self, armed.is_ok(), "TimerTimeout(INTR, NULL) = {armed:?}");
                self.check_set("InterruptWait", &r)?;
                let bad = *flags & !(_NTO_INTR_WAIT_FLAGS_FAST | _NTO_INTR_WAIT_FLAGS_UNMASK) != 0;
                if bad {
                    ensure!(
                        self,
                        r == Err(Errno::EINVAL),
                        "InterruptWait({flags:#x}) = {r:?}, not EINVAL"
                    );
                    failed_pure = true;
                } else {
                    ensure!(
                        self,
                        matches!(r, Ok(()) | Err(Errno::ETIMEDOUT)),
                        "polled InterruptWait({flags:#x}) = {r:?}"
                    );
                }
                ensure!(self, el < SLACK, "polled InterruptWait blocked {el:?}");
            }
            Op::IntrRaise { level, .. } => {
                let on: Vec<u32> = self
                    .k
                    .snapshot()
                    .interrupts
                    .iter()
                    .filter(|i| i.level as i32 == *level)
                    .map(|i| i.level_mask)
                    .collect();
                let r = self.k.interrupt_raise(*level);
                self.note(format!("{n}: raise({level}) = {r:?}"));
                self.check_set("InterruptRaise", &r)?;
                if !(0..256).contains(level) {
                    ensure!(self, r == Err(Errno::EINVAL), "raise({level}) = {r:?}");
                    failed_pure = true;
                } else {
                    let expect = if on.first().is_some_and(|&m| m == 0) {
                        on.len() as u32
                    } else {
                        0
                    };
                    ensure!(
                        self,
                        r == Ok(expect),
                        "raise({level}) = {r:?}, {} attachments, level mask {:?}",
                        on.len(),
                        on.first()
                    );
                }
            }
        }
        if failed_pure {
            if let Some(b) = before {
                if !self.volatile() {
                    let after = norm_snapshot(&self.k, with_queued);
                    ensure!(
                        self,
                        b == after,
                        "op {n} failed but changed the kernel's tables:\nbefore:\n{b}\nafter:\n{after}"
                    );
                }
            }
        }
        consistency(&self.k).map_err(|e| self.fail(format!("after op {n}: {e}")))?;
        Ok(())
    }

    fn me(&self, p: usize) -> &ThreadCtx {
        &self.procs[p].as_ref().unwrap().main
    }

    fn pending_of(&self, who: (i32, i32)) -> Option<&Pending> {
        self.procs
            .iter()
            .flatten()
            .flat_map(|p| p.helpers.iter())
            .chain(self.orphans.iter())
            .find(|h| (h.pid, h.tid) == who)
            .and_then(|h| h.pending.as_ref())
    }

    fn rcvid_expect(&self, pidx: usize, rcvid: RcvId) -> RcvExpect {
        let mypid = self.procs[pidx].as_ref().unwrap().pid.pid;
        let rec = self.rcvids.iter().rev().find(|r| r.rcvid == rcvid);
        match rec {
            Some(r) if r.live && r.server_pid == mypid => {
                let uncertain = self
                    .pending_of(r.client)
                    .is_none_or(|p| p.short || p.volatile || p.killed);
                RcvExpect {
                    live: true,
                    uncertain,
                    client: Some(r.client),
                }
            }
            _ => RcvExpect {
                live: false,
                uncertain: false,
                client: None,
            },
        }
    }

    fn check_rcvid_result<T: std::fmt::Debug>(
        &self,
        call: &str,
        rcvid: RcvId,
        exp: &RcvExpect,
        res: &KResult<T>,
    ) -> Result<(), Fail> {
        if exp.live && !exp.uncertain {
            ensure!(
                self,
                res.is_ok(),
                "{call}({rcvid:#x}) on a live rcvid = {res:?}"
            );
        } else if !exp.live {
            ensure!(
                self,
                matches!(res, Err(Errno::ESRCH)),
                "{call}({rcvid:#x}), an rcvid naming no REPLY-blocked client of ours = {res:?}, not ESRCH"
            );
        }
        Ok(())
    }

    /// A server answered helper `who`: it must return what the answer says.
    fn answered(&mut self, who: (i32, i32), e: Expect) -> Result<(), Fail> {
        for r in self.rcvids.iter_mut() {
            if r.client == who {
                r.live = false;
            }
        }
        let mut uncertain = true;
        if let Some(h) = self.helper_mut(who) {
            if let Some(p) = h.pending.as_mut() {
                uncertain = p.short || p.volatile;
                if p.expect == Expect::Nothing {
                    p.expect = e;
                }
            }
        }
        let _ = uncertain;
        self.wait_done(who, "its server answered it")
    }

    /// MsgError(ERESTART): the client sends again, and SEND-blocks on the same channel.
    fn restarted(&mut self, who: (i32, i32)) -> Result<(), Fail> {
        for r in self.rcvids.iter_mut() {
            if r.client == who {
                r.live = false;
            }
        }
        if let Some(h) = self.helper_mut(who) {
            if let Some(p) = h.pending.as_mut() {
                p.restarted = true;
            }
        }
        let deadline = Instant::now() + PROMPT;
        loop {
            if self.pending_of(who).is_none() {
                return Ok(());
            }
            if let Ok(i) = self.k.thread_info(who.0, who.1) {
                if matches!(i.state, ThreadState::Send { .. }) {
                    return Ok(());
                }
            }
            self.collect()?;
            if Instant::now() > deadline {
                return Err(self.fail(format!("client {who:?} did not send again after ERESTART")));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Threads blocked on a channel that went: each must return promptly with ESRCH.
    fn released_on(&mut self, which: impl Fn(&Pending) -> bool, why: &str) -> Result<(), Fail> {
        let mut whos = Vec::new();
        for h in self.all_helpers() {
            if let Some(p) = h.pending.as_mut() {
                if which(p) {
                    p.killed = true;
                    whos.push((h.pid, h.tid));
                }
            }
        }
        for who in whos {
            self.wait_done(who, why)?;
        }
        Ok(())
    }

    /// A sibling detached `coid`: the helpers of process `pidx` blocked on it leave with EBADF
    /// (at once, unless REPLY-blocked on an `_NTO_CHF_UNBLOCK` channel).
    fn detached(&mut self, pidx: usize, coid: i32) -> Result<(), Fail> {
        let mut now = Vec::new();
        let me = self.procs[pidx].as_mut().unwrap();
        for h in me.helpers.iter_mut() {
            if let Some(p) = h.pending.as_mut() {
                if p.coid == coid {
                    p.forced = true;
                    let st = self.k.thread_info(h.pid, h.tid).map(|i| i.state);
                    let stays = p.unblock_chan && matches!(st, Ok(ThreadState::Reply { .. }));
                    if !stays {
                        now.push((h.pid, h.tid));
                    }
                }
            }
        }
        for who in now {
            self.wait_done(who, "a sibling detached its coid")?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn client_send(
        &mut self,
        pidx: usize,
        h: usize,
        coid: Sel,
        slen: usize,
        rlen: usize,
        short: Option<Option<u64>>,
        n: usize,
    ) -> Result<(), Fail> {
        let coid = self.pick(pidx, coid, 1);
        let mypid = self.procs[pidx].as_ref().unwrap().pid.pid;
        let conn = self.live_coids(mypid).into_iter().find(|c| c.0 == coid);
        let snap = self.k.snapshot();
        let me = self.procs[pidx].as_mut().unwrap();
        if me.helpers.is_empty() {
            return Ok(());
        }
        let hi = h % me.helpers.len();
        if me.helpers[hi].pending.is_some() {
            return Ok(());
        }
        let smsg = pattern(n, slen);
        let tns = match short {
            None => Some(LONG_NS),
            Some(t) => t,
        };
        let helper = &mut me.helpers[hi];
        let who = (helper.pid, helper.tid);
        let unblock_chan = conn.is_some_and(|(_, spid, chid)| {
            snap.channels
                .iter()
                .any(|c| c.pid == spid && c.chid == chid && c.flags & _NTO_CHF_UNBLOCK != 0)
        });
        helper.pending = Some(Pending {
            op: n,
            coid,
            smsg: smsg.clone(),
            rlen,
            target: (-1, -1),
            unblock_chan,
            short: short.is_some(),
            tns,
            expect: Expect::Nothing,
            forced: false,
            killed: false,
            own_death: false,
            volatile: false,
            restarted: false,
        });
        let _ = helper.tx.send(Cmd::Send {
            coid,
            smsg,
            rlen,
            tflags: _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            tns,
        });
        self.note(format!(
            "{n}: p{pidx} client {who:?} MsgSend({coid:#x}, {slen}, {rlen}, timeout {tns:?})"
        ));
        // Wait until it is blocked, or has returned.
        let deadline = Instant::now() + PROMPT;
        loop {
            let h = self.helper_mut(who).unwrap();
            if let Ok(d) = h.rx.try_recv() {
                let p = h.pending.take().unwrap();
                self.note(format!("   client {who:?} returned at once: {:?}", d.res));
                self.check_set("MsgSend", &d.res)?;
                for r in self.rcvids.iter_mut() {
                    if r.client == who {
                        r.live = false;
                    }
                }
                match conn {
                    None => ensure!(
                        self,
                        d.res == Err(Errno::EBADF),
                        "MsgSend on {coid:#x}, not a live coid of the process = {:?}, not EBADF",
                        d.res
                    ),
                    Some((_, _, -1)) => ensure!(
                        self,
                        d.res == Err(Errno::EBADF),
                        "MsgSend on coid {coid:#x} whose channel is gone = {:?}, not EBADF",
                        d.res
                    ),
                    Some(_) => ensure!(
                        self,
                        p.short && d.res == Err(Errno::ETIMEDOUT) || d.res == Err(Errno::ENXIO),
                        "MsgSend on a live coid returned at once with {:?} (no receiver was waiting)",
                        d.res
                    ),
                }
                return Ok(());
            }
            if let Ok(i) = self.k.thread_info(who.0, who.1) {
                match i.state {
                    ThreadState::Send { pid, chid } => {
                        let h = self.helper_mut(who).unwrap();
                        h.pending.as_mut().unwrap().target = (pid, chid);
                        ensure!(
                            self,
                            conn.is_some_and(|c| (c.1, c.2) == (pid, chid)),
                            "client SEND-blocked on {pid}/{chid}, its coid {coid:#x} leads to {conn:?}"
                        );
                        return Ok(());
                    }
                    ThreadState::Reply { .. } | ThreadState::Receive { .. } => {
                        return Err(self.fail(format!(
                            "client {who:?} is {:?} right after its MsgSend, with no receiver waiting",
                            i.state
                        )))
                    }
                    _ => {}
                }
            }
            if Instant::now() > deadline {
                return Err(self.fail(format!(
                    "client {who:?} neither blocked nor returned within {PROMPT:?}"
                )));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn receive(
        &mut self,
        pidx: usize,
        chid: i32,
        blen: usize,
        pulse_only: bool,
        ntime: Option<u64>,
        n: usize,
        armed_bound: Option<u64>,
    ) -> Result<(), Fail> {
        let mypid = self.procs[pidx].as_ref().unwrap().pid.pid;
        let live = self.live_chids(mypid).contains(&chid);
        let mut buf = vec![0u8; blen];
        let mut info = MsgInfo::default();
        let t0 = Instant::now();
        let bound = match armed_bound {
            Some(b) => b,
            None => {
                let a = self
                    .me(pidx)
                    .timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, ntime);
                ensure!(self, a.is_ok(), "TimerTimeout(RECEIVE) = {a:?}");
                ntime.unwrap_or(0)
            }
        };
        let r = if pulse_only {
            self.me(pidx).msg_receive_pulse(chid, &mut buf).map(|()| 0)
        } else {
            self.me(pidx).msg_receive(chid, &mut buf, Some(&mut info))
        };
        let el = t0.elapsed();
        self.note(format!(
            "{n}: p{pidx} MsgReceive{}({chid}, {blen}, timeout {ntime:?}/{armed_bound:?}) = {r:?}",
            if pulse_only { "Pulse" } else { "" }
        ));
        self.check_set("MsgReceive", &r)?;
        ensure!(
            self,
            el <= Duration::from_nanos(bound) + SLACK,
            "MsgReceive blocked {el:?}, past its TimerTimeout of {bound} ns"
        );
        if !live {
            ensure!(
                self,
                r == Err(Errno::ESRCH),
                "MsgReceive on chid {chid}, not a live channel of the process = {r:?}, not ESRCH"
            );
        }
        match r {
            Ok(0) => {
                ensure!(
                    self,
                    blen >= PULSE_SIZE,
                    "a pulse was received into a {blen}-byte buffer (smaller than struct _pulse)"
                );
                let p = Pulse::from_bytes(&buf).unwrap();
                ensure!(
                    self,
                    p.type_ == 0 && p.subtype == 0,
                    "pulse with type {} subtype {}",
                    p.type_,
                    p.subtype
                );
                if p.code == _PULSE_CODE_DISCONNECT || p.code == _PULSE_CODE_UNBLOCK {
                    self.procs[pidx]
                        .as_mut()
                        .unwrap()
                        .scoids_seen
                        .insert(p.scoid);
                }
                self.note(format!(
                    "   pulse code {} value {:#x} scoid {:#x}",
                    p.code, p.value, p.scoid
                ));
            }
            Ok(rcvid) => {
                ensure!(self, !pulse_only, "MsgReceivePulse returned rcvid {rcvid}");
                ensure!(
                    self,
                    rcvid > 0 && rcvid <= i32::MAX as i64,
                    "MsgReceive returned rcvid {rcvid:#x}"
                );
                let who = (info.pid, info.tid);
                let Some(p) = self.pending_of(who) else {
                    return Err(self.fail(format!(
                        "MsgReceive returned rcvid {rcvid:#x} from {who:?}, which has no send pending"
                    )));
                };
                let want = p.smsg.len().min(blen);
                ensure!(
                    self,
                    p.target == (mypid, chid) || p.restarted,
                    "rcvid {rcvid:#x} from {who:?} came in on {mypid}/{chid}, its send went to {:?}",
                    p.target
                );
                ensure!(
                    self,
                    info.msglen == want as i64
                        && info.srcmsglen == p.smsg.len() as i64
                        && info.dstmsglen == p.rlen as i64
                        && info.coid == p.coid
                        && info.chid == chid
                        && buf[..want] == p.smsg[..want],
                    "MsgReceive's message or info is wrong: {info:?}"
                );
                ensure!(
                    self,
                    !self.rcvids.iter().any(|r| r.live && r.rcvid == rcvid),
                    "rcvid {rcvid:#x} handed out while still live for another exchange"
                );
                self.procs[pidx]
                    .as_mut()
                    .unwrap()
                    .scoids_seen
                    .insert(info.scoid);
                self.rcvids.push(RcvRec {
                    rcvid,
                    server_pid: mypid,
                    client: who,
                    live: true,
                });
            }
            Err(_) => {}
        }
        Ok(())
    }

    fn process_exit(&mut self, pidx: usize, n: usize) -> Result<(), Fail> {
        let proc = self.procs[pidx].take().unwrap();
        let pid = proc.pid.pid;
        let r = self.k.process_destroy(proc.pid);
        self.note(format!("{n}: p{pidx} process_destroy({pid}) = {r:?}"));
        ensure!(self, r.is_ok(), "process_destroy of a live process = {r:?}");
        self.dead_pids.push(pid);
        let snap = self.k.snapshot();
        // Its own helpers: released with ESRCH, unless REPLY-blocked on another process's
        // _NTO_CHF_UNBLOCK channel (they stay until that server answers).
        let mut own = Vec::new();
        for mut h in proc.helpers {
            if let Some(p) = h.pending.as_mut() {
                p.own_death = true;
            }
            let zombie = h.pending.as_ref().is_some_and(|p| p.unblock_chan)
                && snap.threads.iter().any(|t| {
                    (t.pid, t.tid) == (h.pid, h.tid) && matches!(t.state, ThreadState::Reply { .. })
                });
            own.push(((h.pid, h.tid), zombie));
            self.orphans.push(h);
        }
        for (who, zombie) in own {
            if !zombie {
                self.wait_done(who, "its process was destroyed")?;
            }
        }
        // Other processes' clients of its channels: ESRCH.
        self.released_on(|p| p.target.0 == pid, "its server process was destroyed")?;
        drop(proc.main);
        // Exit the orphans that are done.
        let mut keep = Vec::new();
        for h in std::mem::take(&mut self.orphans) {
            if h.pending.is_none() {
                finish_helper(h).map_err(|e| self.fail(e))?;
            } else {
                keep.push(h);
            }
        }
        self.orphans = keep;
        self.procs[pidx] = self.new_proc();
        Ok(())
    }

    /// Tears everything down; every client must return and every pool go back to baseline.
    fn teardown(mut self) -> Result<(), Fail> {
        self.collect()?;
        consistency(&self.k).map_err(|e| self.fail(format!("before teardown: {e}")))?;
        let procs: Vec<Proc> = self.procs.drain(..).flatten().collect();
        for p in &procs {
            let r = self.k.process_destroy(p.pid);
            self.note(format!("teardown: process_destroy({}) = {r:?}", p.pid.pid));
            if r.is_err() {
                return Err(self.fail(format!("process_destroy({}) = {r:?}", p.pid.pid)));
            }
        }
        let mut helpers: Vec<Helper> = std::mem::take(&mut self.orphans);
        for p in procs {
            helpers.extend(p.helpers);
            drop(p.main);
        }
        // Every blocked client returns.
        let deadline = Instant::now() + PROMPT;
        for h in helpers.iter_mut() {
            if h.pending.is_some() {
                let left = deadline.saturating_duration_since(Instant::now());
                match h.rx.recv_timeout(left) {
                    Ok(d) => {
                        self.note(format!(
                            "teardown: client {}/{} returned {:?}",
                            h.pid, h.tid, d.res
                        ));
                        if let Err(e) = d.res {
                            ensure!(
                                self,
                                allowed("MsgSend").contains(&e)
                                    || matches!(h.pending.as_ref().unwrap().expect, Expect::Err(x) if x == e.0),
                                "MsgSend returned {e:?}, outside the documented set"
                            );
                        }
                        h.pending = None;
                    }
                    Err(_) => {
                        let st = self.k.thread_info(h.pid, h.tid);
                        return Err(self.fail(format!(
                            "client {}/{} never returned after every process was destroyed (it is {st:?}; snapshot {:?})",
                            h.pid,
                            h.tid,
                            self.k.snapshot()
                        )));
                    }
                }
            }
        }
        for h in helpers {
            finish_helper(h).map_err(|e| self.fail(e))?;
        }
        let u = self.k.pool_usage();
        ensure!(
            self,
            u == self.baseline,
            "pools not back to baseline after teardown:\n{u:?}\nbaseline:\n{:?}\nsnapshot: {:?}",
            self.baseline,
            self.k.snapshot()
        );
        Ok(())
    }
}

#[derive(Debug)]
struct RcvExpect {
    live: bool,
    uncertain: bool,
    client: Option<(i32, i32)>,
}

/// Tells a helper to exit and joins it (bounded).
fn finish_helper(mut h: Helper) -> Result<(), String> {
    let _ = h.tx.send(Cmd::Exit);
    let j = h.join.take().unwrap();
    let deadline = Instant::now() + PROMPT;
    while !j.is_finished() {
        if Instant::now() > deadline {
            return Err(format!("helper {}/{} did not exit", h.pid, h.tid));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    j.join()
        .map_err(|_| format!("helper thread {}/{} panicked", h.pid, h.tid))
}

/// Runs one sequence in a thread of its own, bounded by [`CASE_DEADLINE`].
fn run_sequence(ops: Vec<Op>) -> Result<(), String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut w = World::new(log2);
            for op in &ops {
                w.step(op)?;
            }
            w.teardown()
        }));
        let _ = tx.send(match r {
            Ok(r) => r,
            Err(e) => Err(format!(
                "panic: {}",
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        });
    });
    match rx.recv_timeout(CASE_DEADLINE) {
        Ok(r) => {
            let _ = t.join();
            if std::env::var_os("FUZZ_CALLS_DUMP").is_some() {
                eprintln!("---- case\n{}", log.lock().unwrap().join("\n"));
            }
            r
        }
        Err(_) => Err(format!(
            "the case hung for {CASE_DEADLINE:?}; ops so far:\n{}",
            log.lock().unwrap().join("\n")
        )),
    }
}

/// The fuzzer's seed: fixed, so that a run is repeatable (`FUZZ_CALLS_SEED=<n>` picks another).
fn seed() -> proptest::test_runner::RngSeed {
    let n = std::env::var("FUZZ_CALLS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f0cc);
    proptest::test_runner::RngSeed::Fixed(n)
}

proptest! {
    #![proptest_config(ProptestConfig {
        rng_seed: seed(),
        cases: 200,
        failure_persistence: None,
        max_shrink_iters: 400,
        .. ProptestConfig::default()
    })]

    /// Random call sequences over three processes, each with a main thread (the test's) and
    /// two client threads.
    #[test]
    fn random_call_sequences_keep_qnx_semantics(ops in proptest::collection::vec(op(), 20..120)) {
        if let Err(e) = run_sequence(ops) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ------------------------------------------------------------------ the multi-threaded variant

/// What the workers share: the live chids and coids of every process (as the workers last
/// left them; others may have changed them since).
trait NotRestart {
    fn max_not_restart(self) -> Errno;
}
impl NotRestart for Errno {
    fn max_not_restart(self) -> Errno {
        if self == Errno::ERESTART {
            Errno::EIO
        } else {
            self
        }
    }
}

#[derive(Default)]
struct Shared {
    chids: Vec<(i32, i32)>,
    coids: Vec<(i32, i32)>,
}

/// One worker's random calls. Every blocking call is bounded by a TimerTimeout; every message
/// received is answered at once. Returns the violations it saw.
fn worker(
    k: Kernel,
    pid: Pid,
    pids: Vec<i32>,
    shared: Arc<Mutex<Shared>>,
    seed: u64,
    ops: usize,
) -> Vec<String> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut bad = Vec::new();
    let Ok(me) = k.thread_attach(pid, rng.gen_range(5..20)) else {
        return bad;
    };
    let mine = pid.pid;
    let check = |bad: &mut Vec<String>, call: &str, r: &KResult<i64>, extra: &[Errno]| {
        if let Err(e) = r {
            if !allowed(call).contains(e) && !extra.contains(e) && !soft_allowed(call).contains(e) {
                bad.push(format!(
                    "{call} returned {e:?}, outside QNX's documented set"
                ));
            }
        }
    };
    let gone = |me: &ThreadCtx| k.thread_info(mine, me.tid()).is_err();
    for _ in 0..ops {
        if gone(&me) {
            // Our process was destroyed under us: a QNX thread would be gone too.
            break;
        }
        let (chid, coid) = {
            let sh = shared.lock().unwrap();
            let c = sh
                .chids
                .iter()
                .filter(|c| c.0 == mine)
                .map(|c| c.1)
                .collect::<Vec<_>>();
            let o = sh
                .coids
                .iter()
                .filter(|c| c.0 == mine)
                .map(|c| c.1)
                .collect::<Vec<_>>();
            (
                if c.is_empty() || rng.gen_ratio(1, 10) {
                    rng.gen_range(-1..5)
                } else {
                    c[rng.gen_range(0..c.len())]
                },
                if o.is_empty() || rng.gen_ratio(1, 10) {
                    (_NTO_SIDE_CHANNEL | rng.gen_range(0..12)) as i32
                } else {
                    o[rng.gen_range(0..o.len())]
                },
            )
        };
        let t0 = Instant::now();
        let (call, r, bound): (&str, KResult<i64>, u64) = match rng.gen_range(0..100) {
            0..=29 => {
                let ns = rng.gen_range(1_000_000..100_000_000);
                let _ = me.timer_timeout(
                    CLOCK_MONOTONIC,
                    _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                    Some(ns),
                );
                let smsg = vec![7u8; rng.gen_range(0..300)];
                let mut rmsg = vec![0u8; rng.gen_range(0..300)];
                ("MsgSend", me.msg_send(coid, &smsg, &mut rmsg), ns)
            }
            30..=59 => {
                let ns = rng.gen_range(0..50_000_000);
                let _ = me.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(ns));
                let mut buf = vec![0u8; [0, 1, PULSE_SIZE, 64, 512][rng.gen_range(0..5)]];
                let mut info = MsgInfo::default();
                let r = me.msg_receive(chid, &mut buf, Some(&mut info));
                let el = t0.elapsed();
                if gone(&me) {
                    break;
                }
                check(&mut bad, "MsgReceive", &r, &[]);
                if el > Duration::from_nanos(ns) + SLACK {
                    bad.push(format!(
                        "MsgReceive blocked {el:?} past its {ns} ns timeout"
                    ));
                }
                if let Ok(rcvid) = r {
                    if rcvid > 0 {
                        // Answer it at once, one way or another.
                        let mut b = [0u8; 16];
                        let rr = me
                            .msg_read(rcvid, &mut b, rng.gen_range(0..40))
                            .map(|n| n as i64);
                        check(&mut bad, "MsgRead", &rr, &[]);
                        let rw = me
                            .msg_write(rcvid, &[1, 2, 3], rng.gen_range(0..40))
                            .map(|n| n as i64);
                        check(&mut bad, "MsgWrite", &rw, &[]);
                        if rng.gen_ratio(1, 4) {
                            let ev = SigEvent::pulse(
                                rng.gen_range(0x4000_0000..0x4000_000a),
                                rng.gen_range(-2..300),
                                rng.gen(),
                                rng.gen(),
                            );
                            let rd = me.msg_deliver_event(rcvid, &ev).map(|()| 0);
                            check(&mut bad, "MsgDeliverEvent", &rd, &[]);
                        }
                        let ans = match rng.gen_range(0..10) {
                            0..=5 => me.msg_reply(rcvid, rng.gen_range(0..100), &[9u8; 20]),
                            // (Not ERESTART: the resend is not bounded by the client's
                            // TimerTimeout, a documented deviation, and could wait for a
                            // server that has stopped receiving.)
                            6 => me.msg_error(rcvid, Errno::EOK),
                            7 => me.msg_error(rcvid, Errno(-1)),
                            _ => {
                                me.msg_error(rcvid, Errno(rng.gen_range(0..200)).max_not_restart())
                            }
                        };
                        if let Err(e) = ans {
                            if e != Errno::ESRCH && e != Errno::EINVAL {
                                bad.push(format!("answering a received message failed: {e:?}"));
                            }
                            if e == Errno::EINVAL {
                                // MsgError(-1) with no unblock request: answer properly.
                                let _ = me.msg_reply(rcvid, 0, &[]);
                            }
                        }
                    }
                }
                continue;
            }
            60..=69 => {
                let r = me
                    .msg_send_pulse(
                        coid,
                        [-1, 0, 1, 10, 255, 256, -5][rng.gen_range(0..7)],
                        rng.gen_range(-2..=127),
                        rng.gen(),
                    )
                    .map(|()| 0);
                ("MsgSendPulse", r, 0)
            }
            70..=77 => {
                let target = pids[rng.gen_range(0..pids.len())];
                let tchid = {
                    let sh = shared.lock().unwrap();
                    let c: Vec<i32> = sh
                        .chids
                        .iter()
                        .filter(|c| c.0 == target)
                        .map(|c| c.1)
                        .collect();
                    if c.is_empty() {
                        1
                    } else {
                        c[rng.gen_range(0..c.len())]
                    }
                };
                let flags = if rng.gen_ratio(1, 5) {
                    _NTO_COF_NOSHARE
                } else {
                    0
                };
                let r = me.connect_attach(0, target, tchid, _NTO_SIDE_CHANNEL, flags);
                if let Ok(c) = r {
                    shared.lock().unwrap().coids.push((mine, c));
                }
                ("ConnectAttach", r.map(i64::from), 0)
            }
            78..=85 => {
                let r = me.connect_detach(coid);
                if r.is_ok() {
                    shared.lock().unwrap().coids.retain(|c| *c != (mine, coid));
                }
                ("ConnectDetach", r.map(|()| 0), 0)
            }
            86..=90 => {
                let flags = [
                    0,
                    _NTO_CHF_UNBLOCK,
                    _NTO_CHF_DISCONNECT | _NTO_CHF_UNBLOCK,
                    _NTO_CHF_FIXED_PRIORITY,
                ][rng.gen_range(0..4)];
                let r = me.channel_create(flags);
                if let Ok(c) = r {
                    shared.lock().unwrap().chids.push((mine, c));
                }
                ("ChannelCreate", r.map(i64::from), 0)
            }
            91..=94 => {
                let r = me.channel_destroy(chid);
                if r.is_ok() {
                    shared.lock().unwrap().chids.retain(|c| *c != (mine, chid));
                }
                ("ChannelDestroy", r.map(|()| 0), 0)
            }
            _ => {
                // A garbage TimerTimeout, then a non-blocking call.
                let _ = me.timer_timeout(
                    rng.gen_range(-1..3),
                    rng.gen(),
                    Some(rng.gen_range(0..1000)),
                );
                let r = me.msg_send_pulse(coid, -1, 1, 0).map(|()| 0);
                ("MsgSendPulse", r, 0)
            }
        };
        let el = t0.elapsed();
        if gone(&me) {
            break;
        }
        // A send on an _NTO_CHF_UNBLOCK channel waits for the server's answer after its
        // timeout: the servers answer at once, but may be in a bounded call meanwhile.
        if el > Duration::from_nanos(bound) + SLACK + Duration::from_secs(2) {
            bad.push(format!("{call} took {el:?} (bound {bound} ns)"));
        }
        if call != "MsgSend" {
            check(&mut bad, call, &r, &[]);
        } else {
            // Whatever a server passed to MsgError (1..200) may come back.
            if let Err(e) = r {
                if !(1..200).contains(&e.0) && !allowed("MsgSend").contains(&e) {
                    bad.push(format!("MsgSend returned {e:?}"));
                }
            }
        }
    }
    bad
}

fn run_threaded(seed: u64) -> Result<(), String> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let k = Kernel::new(Config {
        max_threads: 24,
        max_pulses: 16,
        ..small_config()
    })
    .map_err(|e| format!("kernel: {e:?}"))?;
    let baseline = k.pool_usage();
    let nprocs = rng.gen_range(2..4);
    let procs: Vec<Pid> = (0..nprocs).map(|_| k.process_create().unwrap()).collect();
    let pids: Vec<i32> = procs.iter().map(|p| p.pid).collect();
    let shared = Arc::new(Mutex::new(Shared::default()));
    {
        let mains: Vec<ThreadCtx> = procs
            .iter()
            .map(|&p| k.thread_attach(p, 10).unwrap())
            .collect();
        let mut sh = shared.lock().unwrap();
        for (i, m) in mains.iter().enumerate() {
            let flags = [0, _NTO_CHF_UNBLOCK | _NTO_CHF_DISCONNECT, _NTO_CHF_UNBLOCK][i % 3];
            let c = m.channel_create(flags).unwrap();
            sh.chids.push((pids[i], c));
        }
        for (i, m) in mains.iter().enumerate() {
            for &pid in &pids {
                if let Ok(c) = m.connect_attach(0, pid, 1, _NTO_SIDE_CHANNEL, 0) {
                    sh.coids.push((pids[i], c));
                }
            }
        }
        // (The mains end here: their coids and channels belong to the processes.)
    }
    let nworkers = rng.gen_range(3..6);
    let (tx, rx) = mpsc::channel();
    let mut joins = Vec::new();
    for w in 0..nworkers {
        let (k, pid, pids, shared, tx) = (
            k.clone(),
            procs[w % nprocs],
            pids.clone(),
            shared.clone(),
            tx.clone(),
        );
        let s = rng.gen();
        joins.push(std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                worker(k, pid, pids, shared, s, 60)
            }));
            let _ = tx.send(r.unwrap_or_else(|_| vec!["a worker panicked".to_string()]));
        }));
    }
    drop(tx);
    // Meanwhile a server process may go away.
    std::thread::sleep(Duration::from_millis(rng.gen_range(0..40)));
    let victim = rng.gen_ratio(1, 2).then(|| rng.gen_range(0..nprocs));
    if let Some(v) = victim {
        k.process_destroy(procs[v])
            .map_err(|e| format!("process_destroy: {e:?}"))?;
    }
    let mut bad = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..nworkers {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(b) => bad.extend(b),
            Err(_) => {
                return Err(format!(
                "a worker did not finish in 30 s (a blocked call never returned); snapshot: {:?}",
                k.snapshot()
            ))
            }
        }
    }
    for j in joins {
        let _ = j.join();
    }
    consistency(&k)?;
    for (i, p) in procs.iter().enumerate() {
        if Some(i) != victim {
            k.process_destroy(*p)
                .map_err(|e| format!("process_destroy: {e:?}"))?;
        }
    }
    let u = k.pool_usage();
    if u != baseline {
        bad.push(format!(
            "pools not back to baseline: {u:?}; snapshot {:?}",
            k.snapshot()
        ));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        bad.sort();
        bad.dedup();
        Err(bad.join("\n"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        rng_seed: seed(),
        cases: 12,
        failure_persistence: None,
        max_shrink_iters: 0,
        .. ProptestConfig::default()
    })]

    /// 3-5 threads of 2-3 processes making random calls at once on shared channels and
    /// connections, with a server process destroyed under them half the time.
    #[test]
    fn concurrent_random_calls_keep_qnx_semantics(seed in any::<u64>()) {
        if let Err(e) = run_threaded(seed) {
            prop_assert!(false, "seed {}: {}", seed, e);
        }
    }
}

// ------------------------------------------------------------------ defects found (minimal repros)

/// Receives one message on `chid` within 5 s (the sender is another thread).
fn take_one(t: &ThreadCtx, chid: i32) -> RcvId {
    t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(5_000_000_000))
        .unwrap();
    let mut b = [0u8; 16];
    let rcvid = t.msg_receive(chid, &mut b, None).unwrap();
    assert!(rcvid > 0);
    rcvid
}

/// Found by `random_call_sequences_keep_qnx_semantics` (seed 3): a server may deliver an
/// event through an rcvid it never received, one another server received. Server A receives
/// (and answers) two messages from client thread C; server B, to which C's process is merely
/// connected, passes A's first rcvid to MsgDeliverEvent and the pulse reaches C. The
/// reference (§2.9, §4): the rcvid names no client of B's: ESRCH. (QNX's rcvids carry the
/// server connection, so they are per server; docs/deviations.md keeps an earlier rcvid
/// valid only "while the client's process is connected to the server's", i.e. the server
/// that received it.)
#[test]
fn deliver_event_refuses_an_rcvid_another_server_received() {
    let k = Kernel::new(Config::small()).unwrap();
    let (pa, pb, pc) = (
        k.process_create().unwrap(),
        k.process_create().unwrap(),
        k.process_create().unwrap(),
    );
    let a = k.thread_attach(pa, 10).unwrap();
    let b = k.thread_attach(pb, 10).unwrap();
    let c = k.thread_attach(pc, 10).unwrap();
    let chid_a = a.channel_create(0).unwrap();
    let chid_b = b.channel_create(0).unwrap();
    let chid_c = c.channel_create(0).unwrap();
    let to_a = c
        .connect_attach(0, pa.pid, chid_a, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let _to_b = c
        .connect_attach(0, pb.pid, chid_b, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    let to_self = c
        .connect_attach(0, 0, chid_c, _NTO_SIDE_CHANNEL, 0)
        .unwrap();
    // Client thread C sends to A twice; A answers both.
    let k2 = k.clone();
    let sender = std::thread::spawn(move || {
        let t = k2.thread_attach(pc, 10).unwrap();
        for _ in 0..2 {
            t.timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(5_000_000_000),
            )
            .unwrap();
            t.msg_send(to_a, b"hi", &mut []).unwrap();
        }
        t
    });
    let first = take_one(&a, chid_a);
    a.msg_reply(first, 0, &[]).unwrap();
    let second = take_one(&a, chid_a);
    a.msg_reply(second, 0, &[]).unwrap();
    let _t = sender.join().unwrap();
    // B never received `first`.
    let ev = SigEvent::pulse(to_self, 10, 5, 42);
    assert_eq!(
        b.msg_verify_event(first, &ev),
        Err(Errno::ESRCH),
        "MsgVerifyEvent with A's rcvid, from B"
    );
    assert_eq!(
        b.msg_deliver_event(first, &ev),
        Err(Errno::ESRCH),
        "MsgDeliverEvent with A's rcvid, from B"
    );
    // Nothing reached C.
    c.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None)
        .unwrap();
    let mut buf = [0u8; PULSE_SIZE];
    assert_eq!(c.msg_receive(chid_c, &mut buf, None), Err(Errno::ETIMEDOUT));
}

/// Found by `random_call_sequences_keep_qnx_semantics` (outside the documented set):
/// TimerTimeout and TimerCreate check their notification event when called, and failed with
/// ESRCH for a `SIGEV_PULSE` on a coid that is not a connection (EBADF when its channel is
/// gone, ENOSYS for SIGEV_INTR before interrupts came, EBUSY for SIGEV_THREAD). The reference (§2.13) documents
/// EAGAIN, EINVAL and EFAULT only: an event the kernel could not deliver is EINVAL now
/// (deviations.md), and the call arms nothing.
#[test]
fn timer_timeout_errors_stay_in_the_documented_set() {
    let k = Kernel::new(Config::small()).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let gone = t.connect_attach(0, 0, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
    let other = t.channel_create(0).unwrap();
    let dead = t.connect_attach(0, 0, other, _NTO_SIDE_CHANNEL, 0).unwrap();
    t.channel_destroy(other).unwrap();
    for ev in [
        SigEvent::pulse((_NTO_SIDE_CHANNEL | 3) as i32, 10, 1, 0),
        SigEvent::pulse(dead, 10, 1, 0),
        SigEvent {
            sigev_notify: sigev::SIGEV_THREAD,
            ..SigEvent::default()
        },
    ] {
        let r = t.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&ev),
            Some(1_000_000),
        );
        assert_eq!(r, Err(Errno::EINVAL), "TimerTimeout with {ev:?}");
        assert_eq!(
            t.timer_create(CLOCK_MONOTONIC, Some(&ev)),
            Err(Errno::EINVAL),
            "TimerCreate with {ev:?}"
        );
    }
    // Nothing was armed: a receive on an empty channel polled with a zero timeout times out
    // at once, by the timeout armed here, not by one a failed call left.
    assert_eq!(
        t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, None),
        Ok(0),
        "a failed TimerTimeout armed nothing"
    );
    let mut buf = [0u8; PULSE_SIZE];
    assert_eq!(t.msg_receive(chid, &mut buf, None), Err(Errno::ETIMEDOUT));
    // A good event is still taken.
    let ev = SigEvent::pulse(gone, 10, 1, 0);
    assert!(t.timer_create(CLOCK_MONOTONIC, Some(&ev)).is_ok());
    // SIGEV_INTR is deliverable since interrupts came (InterruptWait takes it): accepted.
    assert!(t
        .timer_create(CLOCK_MONOTONIC, Some(&SigEvent::intr()))
        .is_ok());
    assert_eq!(
        t.timer_timeout_event(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(&SigEvent::intr()),
            Some(1_000_000)
        ),
        Ok(0)
    );
}
