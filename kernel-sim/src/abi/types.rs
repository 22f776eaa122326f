//! The structures that cross the kernel boundary, laid out as QNX 7's 64-bit ABI lays them out
//! (`iov_t`, `struct _msg_info64`, `struct _pulse`, `struct sigevent`), and the figures the
//! kernel reports (timer info, counters).

/// `rcvid_t`: a receive id. Positive for a message (naming the client's exchange: reply,
/// error, read, write and deliver events through it), 0 for a pulse. The type is 64 bits wide
/// (QNX 8's `rcvid_t`), the values always below 2^31, so that C code keeping one in an `int`
/// (QNX 7's `MsgReceive` returns `int`) loses nothing.
///
/// Bits 0..15 hold the client thread's slot + 1, bits 15..31 a generation that changes every
/// time that slot's thread is received; a stale rcvid repeats only after 65,536 receives of
/// threads in one slot (docs/deviations.md).
pub type RcvId = i64;

/// `iov_t`: one part of a scattered buffer. Same layout as Linux's `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iov {
    /// Address of the part.
    pub base: u64,
    /// Length of the part in bytes.
    pub len: u64,
}

impl Iov {
    /// An iov describing `buf` (read-only use: the kernel only reads through it).
    pub fn from_slice(buf: &[u8]) -> Iov {
        Iov {
            base: buf.as_ptr() as u64,
            len: buf.len() as u64,
        }
    }
    /// An iov describing `buf` for the kernel to write into.
    pub fn from_mut_slice(buf: &mut [u8]) -> Iov {
        Iov {
            base: buf.as_mut_ptr() as u64,
            len: buf.len() as u64,
        }
    }
}

/// `struct _msg_info` (the 64-bit `_msg_info64` layout): what a server learns about a message.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// Client's node descriptor (always `ND_LOCAL_NODE`, 0).
    pub nd: u32,
    /// The node descriptor the client used in ConnectAttach.
    pub srcnd: u32,
    /// Client's process id.
    pub pid: i32,
    /// Client's thread id.
    pub tid: i32,
    /// The server channel the message came in on.
    pub chid: i32,
    /// Server connection id (`| _NTO_SIDE_CHANNEL`).
    pub scoid: i32,
    /// The client's connection id used for the send.
    pub coid: i32,
    /// Client thread's priority at the time of the send.
    pub priority: i16,
    /// `_NTO_MI_*` flags (e.g. `_NTO_MI_UNBLOCK_REQ`; the constants are `i16` too).
    pub flags: i16,
    /// Bytes actually copied into the receive buffer.
    pub msglen: i64,
    /// Total bytes the client sent.
    pub srcmsglen: i64,
    /// Total size of the client's reply buffer(s).
    pub dstmsglen: i64,
    /// Type id (unused here, 0).
    pub type_id: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

impl MsgInfo {
    /// All fields zero (`Default`, usable in constants).
    pub const ZERO: MsgInfo = MsgInfo {
        nd: 0,
        srcnd: 0,
        pid: 0,
        tid: 0,
        chid: 0,
        scoid: 0,
        coid: 0,
        priority: 0,
        flags: 0,
        msglen: 0,
        srcmsglen: 0,
        dstmsglen: 0,
        type_id: 0,
        reserved: 0,
    };
}

/// `struct _pulse`: what MsgReceive writes for a pulse. 24 bytes, as on 64-bit QNX.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pulse {
    /// `_PULSE_TYPE` (0).
    pub type_: u16,
    /// `_PULSE_SUBTYPE` (0).
    pub subtype: u16,
    /// Pulse code: 0..=127 for users, negative codes for the kernel.
    pub code: i8,
    /// Zero padding.
    pub zero: [u8; 3],
    /// `union sigval`: the low 32 bits are `sival_int`.
    pub value: u64,
    /// The server connection id the pulse came through, or -1 for kernel death pulses.
    pub scoid: i32,
    /// Padding to the 8-byte alignment of `union sigval`.
    pub pad: u32,
}

impl Pulse {
    /// `value.sival_int`.
    pub fn value_int(&self) -> i32 {
        self.value as u32 as i32
    }

    /// `value.sival_long`: the whole 64-bit value (a `_PULSE_CODE_UNBLOCK` pulse carries the
    /// 64-bit rcvid here).
    pub fn value_long(&self) -> i64 {
        self.value as i64
    }

    /// The pulse's bytes, as MsgReceive copies them.
    pub fn to_bytes(&self) -> [u8; PULSE_SIZE] {
        let mut b = [0u8; PULSE_SIZE];
        b[0..2].copy_from_slice(&self.type_.to_ne_bytes());
        b[2..4].copy_from_slice(&self.subtype.to_ne_bytes());
        b[4] = self.code as u8;
        b[8..16].copy_from_slice(&self.value.to_ne_bytes());
        b[16..20].copy_from_slice(&self.scoid.to_ne_bytes());
        b
    }

    /// Reads a pulse back from the bytes MsgReceive wrote (`None` if `b` is too short).
    pub fn from_bytes(b: &[u8]) -> Option<Pulse> {
        if b.len() < PULSE_SIZE {
            return None;
        }
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[8..16]);
        let mut s = [0u8; 4];
        s.copy_from_slice(&b[16..20]);
        Some(Pulse {
            type_: u16_at(0),
            subtype: u16_at(2),
            code: b[4] as i8,
            zero: [0; 3],
            value: u64::from_ne_bytes(v),
            scoid: i32::from_ne_bytes(s),
            pad: 0,
        })
    }
}

/// `sizeof(struct _pulse)`: a receive buffer must hold this many bytes to take a pulse.
pub const PULSE_SIZE: usize = std::mem::size_of::<Pulse>();

const _: () = assert!(PULSE_SIZE == 24);
const _: () = assert!(std::mem::size_of::<MsgInfo>() == 64);
const _: () = assert!(std::mem::size_of::<Iov>() == 16);

/// `SIGEV_*` notification types (`sigev_notify & SIGEV_TYPE_MASK`).
pub mod sigev {
    /// Nothing is delivered.
    pub const SIGEV_NONE: i32 = 0;
    /// A signal to the process.
    pub const SIGEV_SIGNAL: i32 = 1;
    /// A signal with a code and value to the process.
    pub const SIGEV_SIGNAL_CODE: i32 = 2;
    /// A signal with a code and value to one thread.
    pub const SIGEV_SIGNAL_THREAD: i32 = 3;
    /// A pulse on a connection of the receiving process.
    pub const SIGEV_PULSE: i32 = 4;
    /// Unblock the thread (ETIMEDOUT), as a kernel timeout does.
    pub const SIGEV_UNBLOCK: i32 = 5;
    /// An interrupt event: readies the target thread from InterruptWait (or makes its next
    /// InterruptWait return at once).
    pub const SIGEV_INTR: i32 = 6;
    /// A new thread (not deliverable by the kernel: EBUSY).
    pub const SIGEV_THREAD: i32 = 7;
    /// The bits of `sigev_notify` that hold the type.
    pub const SIGEV_TYPE_MASK: i32 = 0xff;
    /// `SIGEV_PULSE` priority meaning "the receiving thread's".
    pub const SIGEV_PULSE_PRIO_INHERIT: i16 = -1;

    /// The name of a `SIGEV_*` kind (`"SIGEV_PULSE"`), or `"?"`.
    pub fn name(kind: i32) -> &'static str {
        match kind {
            SIGEV_NONE => "SIGEV_NONE",
            SIGEV_SIGNAL => "SIGEV_SIGNAL",
            SIGEV_SIGNAL_CODE => "SIGEV_SIGNAL_CODE",
            SIGEV_SIGNAL_THREAD => "SIGEV_SIGNAL_THREAD",
            SIGEV_PULSE => "SIGEV_PULSE",
            SIGEV_UNBLOCK => "SIGEV_UNBLOCK",
            SIGEV_INTR => "SIGEV_INTR",
            SIGEV_THREAD => "SIGEV_THREAD",
            _ => "?",
        }
    }
}

/// `struct sigevent` in QNX 7's 64-bit layout (32 bytes): what to deliver, and to whom, when
/// something happens (a server's `MsgDeliverEvent`, a timer, a kernel timeout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigEvent {
    /// `SIGEV_*` type (low 8 bits) and flags.
    pub sigev_notify: i32,
    /// Padding before the 8-byte union.
    pub pad0: i32,
    /// `sigev_signo`, or `sigev_coid` for `SIGEV_PULSE` (the union's low 32 bits).
    pub sigev_signo: i64,
    /// `sigev_value` (`union sigval`; the low 32 bits are `sival_int`).
    pub sigev_value: u64,
    /// `sigev_code`: the pulse code or signal code.
    pub sigev_code: i16,
    /// `sigev_priority`: the pulse priority, or -1 to inherit.
    pub sigev_priority: i16,
    /// Padding.
    pub pad1: u32,
}

const _: () = assert!(std::mem::size_of::<SigEvent>() == 32);

impl SigEvent {
    /// A `SIGEV_NONE` event, as a constant.
    pub const NONE: SigEvent = SigEvent {
        sigev_notify: sigev::SIGEV_NONE,
        pad0: 0,
        sigev_signo: 0,
        sigev_value: 0,
        sigev_code: 0,
        sigev_priority: 0,
        pad1: 0,
    };
    /// A `SIGEV_UNBLOCK` event, as a constant.
    pub const UNBLOCK: SigEvent = SigEvent {
        sigev_notify: sigev::SIGEV_UNBLOCK,
        ..SigEvent::NONE
    };

    /// `SIGEV_NONE_INIT`.
    pub fn none() -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_NONE,
            ..Default::default()
        }
    }
    /// `SIGEV_UNBLOCK_INIT`.
    pub fn unblock() -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_UNBLOCK,
            ..Default::default()
        }
    }
    /// `SIGEV_PULSE_INIT(coid, priority, code, value)`: `priority` -1 inherits. `code` is a
    /// pulse code, `i8` as in `struct _pulse` (`sigev_code` holds it widened).
    pub fn pulse(coid: i32, priority: i16, code: i8, value: i32) -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_PULSE,
            sigev_signo: coid as i64,
            sigev_value: value as u32 as u64,
            sigev_code: code.into(),
            sigev_priority: priority,
            ..Default::default()
        }
    }
    /// `SIGEV_SIGNAL_INIT(signo)`.
    pub fn signal(signo: i32) -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_SIGNAL,
            sigev_signo: signo as i64,
            ..Default::default()
        }
    }
    /// `SIGEV_SIGNAL_VALUE_INIT(signo, value)`.
    pub fn signal_value(signo: i32, value: i32) -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_SIGNAL,
            sigev_signo: signo as i64,
            sigev_value: value as u32 as u64,
            ..Default::default()
        }
    }
    /// `SIGEV_SIGNAL_CODE_INIT(signo, value, code)`.
    pub fn signal_code(signo: i32, value: i32, code: i16) -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_SIGNAL_CODE,
            sigev_signo: signo as i64,
            sigev_value: value as u32 as u64,
            sigev_code: code,
            ..Default::default()
        }
    }
    /// `SIGEV_SIGNAL_THREAD_INIT(signo, value, code)`.
    pub fn signal_thread(signo: i32, value: i32, code: i16) -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_SIGNAL_THREAD,
            sigev_signo: signo as i64,
            sigev_value: value as u32 as u64,
            sigev_code: code,
            ..Default::default()
        }
    }
    /// `SIGEV_INTR_INIT`.
    pub fn intr() -> SigEvent {
        SigEvent {
            sigev_notify: sigev::SIGEV_INTR,
            ..Default::default()
        }
    }
    /// `SIGEV_GET_TYPE`.
    pub fn kind(&self) -> i32 {
        self.sigev_notify & sigev::SIGEV_TYPE_MASK
    }
    /// `sigev_coid` (for `SIGEV_PULSE`).
    pub fn coid(&self) -> i32 {
        self.sigev_signo as i32
    }
    /// `sigev_signo`.
    pub fn signo(&self) -> i32 {
        self.sigev_signo as i32
    }
    /// `sigev_value.sival_int`.
    pub fn value_int(&self) -> i32 {
        self.sigev_value as u32 as i32
    }

    /// The event's 32 bytes, as a client puts it in a message.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[0..4].copy_from_slice(&self.sigev_notify.to_ne_bytes());
        b[8..16].copy_from_slice(&self.sigev_signo.to_ne_bytes());
        b[16..24].copy_from_slice(&self.sigev_value.to_ne_bytes());
        b[24..26].copy_from_slice(&self.sigev_code.to_ne_bytes());
        b[26..28].copy_from_slice(&self.sigev_priority.to_ne_bytes());
        b
    }

    /// An event read back from a message (`None` if `b` is shorter than 32 bytes).
    pub fn from_bytes(b: &[u8]) -> Option<SigEvent> {
        let b: &[u8; 32] = b.get(..32)?.try_into().ok()?;
        let mut e = SigEvent {
            sigev_notify: i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            ..Default::default()
        };
        e.sigev_signo = i64::from_ne_bytes(b[8..16].try_into().ok()?);
        e.sigev_value = u64::from_ne_bytes(b[16..24].try_into().ok()?);
        e.sigev_code = i16::from_ne_bytes([b[24], b[25]]);
        e.sigev_priority = i16::from_ne_bytes([b[26], b[27]]);
        Some(e)
    }
}

/// One message of an asyncmsg batch, as the kernel describes it to the receiver (the kernel's
/// half of `struct _asyncmsg_get_header`: the library adds the data pointer).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsyncGetHeader {
    /// Who sent it: pid, chid, coid, scoid, `msglen` (bytes delivered), `srcmsglen` (bytes sent).
    pub info: MsgInfo,
    /// 0, or the error of this message (EMSGSIZE: longer than the channel's buffer_size).
    pub err: i32,
    /// Bytes of data delivered.
    pub len: u32,
    /// Where the data starts in the receive arena.
    pub offset: u64,
}

/// `struct _io_connect` up to its path (40 bytes, QNX 7's 64-bit layout): the message
/// `name_open` sends a name's server first, and which the server answers with `MsgReply(rcvid,
/// EOK, ...)` to let the client in. The path (with its NUL, `path_len` bytes) follows it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoConnect {
    /// `_IO_CONNECT`.
    pub type_: u16,
    /// `_IO_CONNECT_*` (`_IO_CONNECT_OPEN` from `name_open`).
    pub subtype: u16,
    /// `_FTYPE_*` wanted (`_FTYPE_NAME` from `name_open`).
    pub file_type: u32,
    /// The client's reply buffer size.
    pub reply_max: u16,
    /// Link-reply entries the client takes.
    pub entry_max: u16,
    /// Access key (0).
    pub key: u32,
    /// The link's id (the name's).
    pub handle: u32,
    /// The open flags, access bits as `_IO_FLAG_*` (3: read and write).
    pub ioflag: u32,
    /// Mode (0).
    pub mode: u32,
    /// Share mode (`SH_DENYNO`).
    pub sflag: u16,
    /// `_IO_FLAG_*` the client may use.
    pub access: u16,
    /// 0.
    pub zero: u16,
    /// Bytes of path that follow, with the NUL.
    pub path_len: u16,
    /// `_IO_CONNECT_EFLAG_*` (0).
    pub eflag: u8,
    /// `_IO_CONNECT_EXTRA_*` (0: none).
    pub extra_type: u8,
    /// Bytes of extra data after the path (0).
    pub extra_len: u16,
}

const _: () = assert!(std::mem::size_of::<IoConnect>() == 40);

impl IoConnect {
    /// Its 40 bytes, as a client sends them.
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[0..2].copy_from_slice(&self.type_.to_ne_bytes());
        b[2..4].copy_from_slice(&self.subtype.to_ne_bytes());
        b[4..8].copy_from_slice(&self.file_type.to_ne_bytes());
        b[8..10].copy_from_slice(&self.reply_max.to_ne_bytes());
        b[10..12].copy_from_slice(&self.entry_max.to_ne_bytes());
        b[12..16].copy_from_slice(&self.key.to_ne_bytes());
        b[16..20].copy_from_slice(&self.handle.to_ne_bytes());
        b[20..24].copy_from_slice(&self.ioflag.to_ne_bytes());
        b[24..28].copy_from_slice(&self.mode.to_ne_bytes());
        b[28..30].copy_from_slice(&self.sflag.to_ne_bytes());
        b[30..32].copy_from_slice(&self.access.to_ne_bytes());
        b[32..34].copy_from_slice(&self.zero.to_ne_bytes());
        b[34..36].copy_from_slice(&self.path_len.to_ne_bytes());
        b[36] = self.eflag;
        b[37] = self.extra_type;
        b[38..40].copy_from_slice(&self.extra_len.to_ne_bytes());
        b
    }

    /// One read back from a message (`None` if `b` is shorter than 40 bytes).
    pub fn from_bytes(b: &[u8]) -> Option<IoConnect> {
        let b: &[u8; 40] = b.get(..40)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(IoConnect {
            type_: u16_at(0),
            subtype: u16_at(2),
            file_type: u32_at(4),
            reply_max: u16_at(8),
            entry_max: u16_at(10),
            key: u32_at(12),
            handle: u32_at(16),
            ioflag: u32_at(20),
            mode: u32_at(24),
            sflag: u16_at(28),
            access: u16_at(30),
            zero: u16_at(32),
            path_len: u16_at(34),
            eflag: b[36],
            extra_type: b[37],
            extra_len: u16_at(38),
        })
    }
}

/// What TimerInfo reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerInfo {
    /// Nanoseconds until the next expiry (0: disarmed): QNX's `otime.nsec`.
    pub remaining: u64,
    /// The time of the next expiry on the timer's clock, in ns since that clock's epoch (0:
    /// disarmed): QNX's `itime.nsec`.
    pub expiry: u64,
    /// The period in ns (0: one-shot): QNX's `itime.interval_nsec`.
    pub interval: u64,
    /// Expiries missed before the last delivery.
    pub overruns: u32,
    /// Expiries delivered so far.
    pub fired: u64,
    /// Linux clock id.
    pub clock: i32,
}

/// What a connection's counters say.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AsyncConnCounters {
    /// Triggers that found messages (each one kernel entry that started a batch).
    pub batches: u64,
    /// Messages receivers took.
    pub msgs_taken: u64,
}

/// Counters of what a process's threads did in the kernel, readable through the API.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcCounters {
    /// Kernel calls made by the process's threads (each one takes the kernel lock once).
    pub kernel_entries: u64,
    /// Threads woken by the process's kernel calls (futex wakes issued).
    pub wakeups: u64,
    /// Times a thread of the process blocked in the kernel.
    pub blocks: u64,
    /// Messages sent (MsgSend* that reached a channel).
    pub msgs_sent: u64,
    /// Messages received (MsgReceive* that returned an rcvid).
    pub msgs_received: u64,
    /// Replies and errors given (MsgReply*, MsgError).
    pub replies: u64,
    /// Pulses sent.
    pub pulses_sent: u64,
    /// Pulses received.
    pub pulses_received: u64,
    /// Bytes copied by the process's kernel calls.
    pub bytes_copied: u64,
    /// asyncmsg: triggers (MsgSendAsync: count, time or flush) made by the process.
    pub async_triggers: u64,
    /// asyncmsg: messages receivers took from the process's connections.
    pub async_msgs_sent: u64,
    /// asyncmsg: messages the process's receivers took.
    pub async_msgs_received: u64,
    /// asyncmsg: receives that returned at least one message.
    pub async_batches_received: u64,
    /// Blocks that spun on the wait word before sleeping (the thread expected to wake them ran
    /// on another CPU: `Config::spin_ns`).
    pub spins: u64,
    /// Of those, the ones whose wake-up came while spinning: no futex sleep, no futex wake.
    pub spin_wakeups: u64,
    /// Of `wakeups`, those the process's threads made for others as carriers (the wake hand-off,
    /// `Config::wake_handoff`): clients a busy server replied to, woken by another client when
    /// it collected its own reply, instead of by the server.
    pub wakeups_carried: u64,
}

impl ProcCounters {
    /// What happened since `earlier`: `self - earlier`, field by field (saturating).
    pub fn since(&self, earlier: &ProcCounters) -> ProcCounters {
        let d = |now: u64, then: u64| now.saturating_sub(then);
        ProcCounters {
            kernel_entries: d(self.kernel_entries, earlier.kernel_entries),
            wakeups: d(self.wakeups, earlier.wakeups),
            blocks: d(self.blocks, earlier.blocks),
            msgs_sent: d(self.msgs_sent, earlier.msgs_sent),
            msgs_received: d(self.msgs_received, earlier.msgs_received),
            replies: d(self.replies, earlier.replies),
            pulses_sent: d(self.pulses_sent, earlier.pulses_sent),
            pulses_received: d(self.pulses_received, earlier.pulses_received),
            bytes_copied: d(self.bytes_copied, earlier.bytes_copied),
            async_triggers: d(self.async_triggers, earlier.async_triggers),
            async_msgs_sent: d(self.async_msgs_sent, earlier.async_msgs_sent),
            async_msgs_received: d(self.async_msgs_received, earlier.async_msgs_received),
            async_batches_received: d(self.async_batches_received, earlier.async_batches_received),
            spins: d(self.spins, earlier.spins),
            spin_wakeups: d(self.spin_wakeups, earlier.spin_wakeups),
            wakeups_carried: d(self.wakeups_carried, earlier.wakeups_carried),
        }
    }
}
