//! The kernel's trace ring: the same events as [`super`]'s `tracing` events, written into the
//! region, so that one recorder sees every program of a kernel shared by several (QNX's
//! instrumented kernel writes its events into kernel buffers that `tracelogger` drains; this is
//! that, for a kernel whose calls run in many Linux processes).
//!
//! The ring is a part of the region ([`crate::Config::trace_records`] records of 128 bytes;
//! pages are touched only once something is recorded). It records only while a recorder holds
//! it on ([`Ring::start`]): a flag and a lease in the ring's header, which the recorder renews
//! ([`Reader::poll`]). A recorder killed without stopping leaves the flag set until the lease
//! runs out: the first event after that turns it off. Untraced, an event costs one load of the
//! flag (with [`super::enabled`]'s).
//!
//! Writers are many (any thread of any program, under the kernel lock or not); the reader is
//! one. A writer claims a record number with one `fetch_add` on the header's head, marks the
//! record busy, writes it, then publishes its number with a release store; a check word over
//! the record lets the reader drop a record torn by a writer that was preempted for a whole lap
//! of the ring. The reader takes records in number order: one overwritten before it got there
//! (the ring lapped it) is counted lost; one never published (its writer was killed in the
//! middle) is waited for a short while, then counted lost.
//!
//! Who records: the header's `recorder` (a Linux pid, 0: none) is claimed with a
//! compare-and-swap, over a lease stored first (so that a recorder starting at the same time
//! finds the ring held, and gets EBUSY); the recording's number (`session`) then tells a
//! recorder whether it still holds the ring. The flag holds that number (odd: non-zero), so a
//! writer that finds the lease run out turns off only the recording it saw (a
//! compare-and-swap), not one that a new recorder has just started. A recorder stopped past its
//! lease (SIGSTOP) whose ring another recorder took over neither renews nor turns on the ring
//! again, and its end leaves the new recorder's recording alone ([`Reader::superseded`]); one
//! that finds its own recording turned off turns it on again and counts the pause
//! ([`Reader::paused`]: the events meanwhile are missing, and not counted lost).

use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::abi::errno::{Errno, KResult};

/// Words in one record.
pub(crate) const RECORD_WORDS: usize = 16;
/// Integer fields a record holds at most (with the header's four words, the string's three
/// and the check word: [`RECORD_WORDS`]).
const INTS: usize = 8;
/// Bytes of the one string field a record holds (longer strings are cut).
const STR_BYTES: usize = 24;
/// A record being written.
const BUSY: u64 = u64::MAX;
/// How long a recorder's lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(2);

/// The ring's header, at the start of its part of the region.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct RingHeader {
    /// Non-zero while a recorder holds the ring on: its recording's number (`session`), shifted
    /// left and made odd.
    recording: AtomicU32,
    /// The recorder's Linux pid (0: none).
    recorder: AtomicI32,
    /// `CLOCK_MONOTONIC` nanoseconds after which writers turn recording off.
    lease_until: AtomicU64,
    /// The latest recording's number (bumped by [`Ring::start`] once it holds the ring).
    session: AtomicU64,
    /// The next record number to claim (on a cache line of its own: every event writes it).
    head: HeadLine,
}

#[repr(C, align(64))]
#[derive(Debug, Default)]
struct HeadLine(AtomicU64);

/// One record: its number plus one (0: never written, `BUSY`: being written), then the event.
///
/// Its sixteen words: 0 the number plus one; 1 the `CLOCK_MONOTONIC` time (ns); 2 the kind
/// ([`Kind`], bits 0-7), the `what` (bits 8-15: its index in `WHATS` plus one), the count of
/// integer fields (bits 16-23), the string's length (bits 24-31) and the pid (bits 32-63); 3
/// the tid; 4-11 up to eight integer fields, in the order `schema` names them for the kind and
/// `what` (a call's `enter`: a tag naming its arguments, then their values); 12-14 the string
/// field, up to 24 bytes (`schema` names it: `call`, `state`, `why`, `by`, `kind`, `step`,
/// `name`); 15 the check word over words 0-14. A change of the schema (a new `what`, a field
/// added) is a change of the region's layout: `LAYOUT_VERSION` (region.rs) is bumped, so that
/// programs of two builds never share a ring.
#[repr(C, align(128))]
#[derive(Debug, Default)]
pub struct Record {
    words: [AtomicU64; RECORD_WORDS],
}

/// The ring: its header and records, a view into the region (copied freely).
#[derive(Clone, Copy, Debug)]
pub struct Ring<'a> {
    hdr: &'a RingHeader,
    recs: &'a [Record],
}

static NO_HEADER: RingHeader = RingHeader {
    recording: AtomicU32::new(0),
    recorder: AtomicI32::new(0),
    lease_until: AtomicU64::new(0),
    session: AtomicU64::new(0),
    head: HeadLine(AtomicU64::new(0)),
};

/// Now, on `CLOCK_MONOTONIC`, in nanoseconds: the clock every program of a kernel shares.
pub fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .unwrap_or_else(|_| nix::sys::time::TimeSpec::new(0, 0));
    (ts.tv_sec() as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec() as u64)
}

/// The kind of event a record holds: its `tracing` target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// `qnx::call`.
    Call = 1,
    /// `qnx::state`.
    State,
    /// `qnx::prio`.
    Prio,
    /// `qnx::msg`.
    Msg,
    /// `qnx::pulse`.
    Pulse,
    /// `qnx::async`.
    Async,
    /// `qnx::timer`.
    Timer,
    /// `qnx::teardown`.
    Teardown,
    /// `qnx::process`.
    Process,
    /// `qnx::intr`.
    Intr,
}

impl Kind {
    fn of(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Call,
            2 => Kind::State,
            3 => Kind::Prio,
            4 => Kind::Msg,
            5 => Kind::Pulse,
            6 => Kind::Async,
            7 => Kind::Timer,
            8 => Kind::Teardown,
            9 => Kind::Process,
            10 => Kind::Intr,
            _ => return None,
        })
    }

    /// The `tracing` target of events of this kind.
    pub fn target(self) -> &'static str {
        match self {
            Kind::Call => "qnx::call",
            Kind::State => "qnx::state",
            Kind::Prio => "qnx::prio",
            Kind::Msg => "qnx::msg",
            Kind::Pulse => "qnx::pulse",
            Kind::Async => "qnx::async",
            Kind::Timer => "qnx::timer",
            Kind::Teardown => "qnx::teardown",
            Kind::Process => "qnx::process",
            Kind::Intr => "qnx::intr",
        }
    }
}

/// Every `what`, numbered for the ring (index + 1; new ones are added at the end, so that a
/// number keeps its meaning).
const WHATS: [&str; 18] = [
    super::what::ENTER,
    super::what::EXIT,
    super::what::STATE,
    super::what::PRIO,
    super::what::SEND,
    super::what::RECEIVE,
    super::what::REPLY,
    super::what::QUEUED,
    super::what::RECEIVED,
    super::what::PUT,
    super::what::TRIGGER,
    super::what::GET,
    super::what::FIRED,
    super::what::TEARDOWN,
    super::what::CREATED,
    super::what::RAISED,
    super::what::WITHDRAWN,
    super::what::DROPPED,
];

/// The names of a record's integer fields, by kind and `what`, and the name of its string
/// field (`""`: none): the schema of [`super`]'s table.
fn schema(kind: Kind, what: &str) -> (&'static [&'static str], &'static str) {
    use super::what as w;
    match (kind, what) {
        (Kind::Call, w::ENTER) => (&[], "call"),
        (Kind::Call, _) => (&["result"], "call"),
        (Kind::State, _) => (&["peer_pid", "chid"], "state"),
        (Kind::Prio, _) => (&["prio", "base"], "why"),
        (Kind::Msg, w::REPLY) => (
            &[
                "peer_pid", "peer_tid", "chid", "rcvid", "exchange", "bytes", "status", "error",
            ],
            "by",
        ),
        (Kind::Msg, w::WITHDRAWN) => (
            &[
                "peer_pid", "peer_tid", "chid", "rcvid", "exchange", "bytes", "error",
            ],
            "why",
        ),
        (Kind::Msg, w::SEND) => (
            &[
                "peer_pid", "peer_tid", "chid", "rcvid", "exchange", "bytes", "msg_type",
            ],
            "",
        ),
        (Kind::Msg, _) => (
            &["peer_pid", "peer_tid", "chid", "rcvid", "exchange", "bytes"],
            "",
        ),
        (Kind::Pulse, w::DROPPED) => (&["peer_pid", "chid", "code", "value", "pulse"], "why"),
        (Kind::Pulse, _) => (&["peer_pid", "chid", "code", "value", "pulse"], ""),
        (Kind::Async, w::PUT) => (&["coid", "messages", "bytes"], ""),
        (Kind::Async, w::GET) => (&["chid", "messages", "batch"], ""),
        (Kind::Async, _) => (&["coid", "messages", "batch"], ""),
        (Kind::Timer, _) => (&["timer"], "kind"),
        (Kind::Teardown, _) => (&[], "step"),
        (Kind::Process, _) => (&[], "name"),
        (Kind::Intr, _) => (&["level", "delivered"], ""),
    }
}

/// Fields that hold ids or counts (unsigned in the `tracing` events).
fn unsigned(name: &str) -> bool {
    matches!(
        name,
        "exchange" | "bytes" | "pulse" | "batch" | "messages" | "prio" | "base" | "delivered"
    )
}

/// A record read back from the ring: one event, with its fields named as the `tracing`
/// event's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// When it happened: `CLOCK_MONOTONIC` nanoseconds.
    pub ns: u64,
    /// Its kind (the `tracing` target).
    pub kind: Kind,
    /// Its `what`.
    pub what: &'static str,
    /// The simulated pid.
    pub pid: i32,
    /// The simulated tid.
    pub tid: i32,
    /// Its integer fields, named, in the schema's order (ids and counts as their `u64` bits).
    pub ints: Vec<(&'static str, i64)>,
    /// Its string field, named (`call`, `state`, `why`, `by`, `kind`, `step`, `name`), if it
    /// has one.
    pub string: Option<(&'static str, String)>,
}

impl Decoded {
    /// Integer field `name`.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.ints.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Whether field `name` is unsigned in the `tracing` event (ids, counts, priorities).
    pub fn is_unsigned(name: &str) -> bool {
        unsigned(name)
    }

    /// The `qnx::state` event each thread of `snapshot` would have emitted when it entered the
    /// state it is in, stamped `ns`: what a recording that begins now starts from (so that a
    /// server RECEIVE-blocked before it began shows as such).
    pub fn states_of(snapshot: &crate::Snapshot, ns: u64) -> Vec<Decoded> {
        use crate::ThreadState as S;
        snapshot
            .threads
            .iter()
            .map(|t| {
                let (state, peer_pid, chid) = match t.state {
                    S::Running => ("RUNNING", 0, -1),
                    S::Ready => ("READY", 0, -1),
                    S::Send { pid, chid } => ("SEND", pid, chid),
                    S::Receive { chid } => ("RECEIVE", 0, chid),
                    S::Reply { pid, chid, .. } => ("REPLY", pid, chid),
                    S::Intr => ("INTR", 0, -1),
                    S::Nanosleep => ("NANOSLEEP", 0, -1),
                };
                Decoded {
                    ns,
                    kind: Kind::State,
                    what: super::what::STATE,
                    pid: t.pid,
                    tid: t.tid,
                    ints: vec![("peer_pid", peer_pid.into()), ("chid", chid.into())],
                    string: Some(("state", state.to_string())),
                }
            })
            .collect()
    }
}

fn check(words: &[u64; RECORD_WORDS]) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64;
    for w in &words[..RECORD_WORDS - 1] {
        h = (h ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }
    h
}

impl Ring<'static> {
    /// A ring with no records: never records (for events emitted with no kernel at hand).
    pub fn none() -> Ring<'static> {
        Ring {
            hdr: &NO_HEADER,
            recs: &[],
        }
    }
}

impl<'a> Ring<'a> {
    /// The ring over a header and its records (the region builds it).
    pub(crate) fn new(hdr: &'a RingHeader, recs: &'a [Record]) -> Ring<'a> {
        Ring { hdr, recs }
    }

    /// Whether a recorder holds the ring on: one relaxed load.
    #[inline(always)]
    pub fn recording(self) -> bool {
        self.hdr.recording.load(Ordering::Relaxed) != 0
    }

    /// How many records the ring holds.
    pub fn capacity(self) -> usize {
        self.recs.len()
    }

    /// Writes one event, if recording: `ints` in the schema's order, `s` the string field.
    #[inline]
    pub(crate) fn put(self, kind: Kind, what: &str, pid: i32, tid: i32, ints: &[i64], s: &str) {
        if self.recording() {
            self.write(kind, what, pid, tid, ints, s);
        }
    }

    #[cold]
    #[inline(never)]
    fn write(self, kind: Kind, what: &str, pid: i32, tid: i32, ints: &[i64], s: &str) {
        if self.recs.is_empty() {
            return;
        }
        let on = self.hdr.recording.load(Ordering::Acquire);
        if on == 0 {
            return;
        }
        let now = monotonic_ns();
        if now > self.hdr.lease_until.load(Ordering::Acquire) {
            // The recorder stopped renewing: it is gone. Turn its recording off (only the one
            // seen: not one a new recorder started meanwhile).
            let _ =
                self.hdr
                    .recording
                    .compare_exchange(on, 0, Ordering::Relaxed, Ordering::Relaxed);
            return;
        }
        let n = self.hdr.head.0.fetch_add(1, Ordering::Relaxed);
        let rec = &self.recs[(n % self.recs.len() as u64) as usize];
        let mut w = [0u64; RECORD_WORDS];
        let what_no = WHATS.iter().position(|x| *x == what).map_or(0, |i| i + 1);
        let sb = s.as_bytes();
        let slen = sb.len().min(STR_BYTES);
        // (Wrapping: the head is in the region, where anything may be written.)
        w[0] = n.wrapping_add(1);
        w[1] = now;
        w[2] = kind as u64
            | (what_no as u64) << 8
            | (ints.len().min(INTS) as u64) << 16
            | (slen as u64) << 24
            | u64::from(pid as u32) << 32;
        w[3] = tid as u32 as u64;
        for (i, v) in ints.iter().take(INTS).enumerate() {
            w[4 + i] = *v as u64;
        }
        let mut sbuf = [0u8; STR_BYTES];
        sbuf[..slen].copy_from_slice(&sb[..slen]);
        for i in 0..STR_BYTES / 8 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&sbuf[i * 8..i * 8 + 8]);
            w[4 + INTS + i] = u64::from_le_bytes(b);
        }
        w[RECORD_WORDS - 1] = check(&w);
        rec.words[0].store(BUSY, Ordering::Relaxed);
        fence(Ordering::Release);
        for (i, v) in w.iter().enumerate().skip(1) {
            rec.words[i].store(*v, Ordering::Relaxed);
        }
        rec.words[0].store(n.wrapping_add(1), Ordering::Release);
    }

    /// Starts a recording by Linux process `recorder`: EBUSY if another live recorder holds
    /// the ring (its lease still runs), ENOTSUP if the ring has no records. Records already in
    /// the ring are skipped: the reader starts at the head. A recorder of the same `recorder`
    /// takes the ring over (the earlier one is then [`Reader::superseded`]).
    pub fn start(self, recorder: i32) -> KResult<Reader<'a>> {
        if self.recs.is_empty() {
            return Err(Errno::ENOTSUP);
        }
        let hdr = self.hdr;
        loop {
            let now = monotonic_ns();
            let holder = hdr.recorder.load(Ordering::Acquire);
            if holder != 0
                && holder != recorder
                && hdr.lease_until.load(Ordering::Acquire) >= now
                && holder > 0
                && pid_alive(holder)
            {
                return Err(Errno::EBUSY);
            }
            // A lease over the takeover first: a recorder starting meanwhile finds the ring
            // held (by us, or by the one it saw, if our claim fails).
            hdr.lease_until.store(
                now.saturating_add(LEASE.as_nanos() as u64),
                Ordering::Release,
            );
            if hdr
                .recorder
                .compare_exchange(holder, recorder, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break;
            }
        }
        let session = hdr.session.fetch_add(1, Ordering::AcqRel).wrapping_add(1);
        let on = flag_of(session);
        let tail = hdr.head.0.load(Ordering::Acquire);
        hdr.recording.store(on, Ordering::Release);
        Ok(Reader {
            ring: self,
            recorder,
            session,
            on,
            tail,
            stuck_since: None,
            lost: 0,
            paused: 0,
            superseded: false,
        })
    }
}

/// The flag's value while recording `session` (odd: never 0).
fn flag_of(session: u64) -> u32 {
    ((session as u32) << 1) | 1
}

fn pid_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
        .map_or_else(|e| e == nix::errno::Errno::EPERM, |()| true)
}

/// A recording in progress: drains the ring in record order. Dropping it stops the
/// recording.
#[derive(Debug)]
pub struct Reader<'a> {
    ring: Ring<'a>,
    recorder: i32,
    /// Its recording's number.
    session: u64,
    /// The flag's value while it records.
    on: u32,
    /// The next record number to read.
    tail: u64,
    /// When the record at `tail` was first found unpublished.
    stuck_since: Option<u64>,
    lost: u64,
    /// Times it found its recording turned off (its lease had run out).
    paused: u64,
    /// Another recorder took the ring over.
    superseded: bool,
}

/// How long the reader waits for a claimed record to be published before it counts it lost
/// (its writer was killed mid-record, or is descheduled that long).
const STUCK_NS: u64 = 200_000_000;

impl Reader<'_> {
    /// Renews the lease and appends to `out` every record published since the last poll, in
    /// record order. Returns how many it appended.
    pub fn poll(&mut self, out: &mut Vec<Decoded>) -> usize {
        let ring = self.ring;
        let now = monotonic_ns();
        if self.holds() {
            ring.hdr.lease_until.store(
                now.saturating_add(LEASE.as_nanos() as u64),
                Ordering::Release,
            );
            if ring.hdr.recording.load(Ordering::Acquire) != self.on {
                // A writer saw the lease run out (this recorder was stopped that long): on
                // again, and the pause counted (what happened meanwhile is not in the ring).
                self.paused += 1;
                ring.hdr.recording.store(self.on, Ordering::Release);
            }
        } else {
            // Another recorder took the ring over (this one was stopped past its lease): it
            // is theirs to renew and to stop. (Its records are still read.)
            self.superseded = true;
        }
        self.poll_records(out)
    }

    /// [`Reader::poll`]'s reading, without renewing anything.
    fn poll_records(&mut self, out: &mut Vec<Decoded>) -> usize {
        let ring = self.ring;
        let now = monotonic_ns();
        let cap = ring.recs.len() as u64;
        let before = out.len();
        // Up to the records claimed when the poll began (at most a ring's worth): writers
        // faster than the reader do not keep it here, past its lease, its records piling up.
        let end = ring.hdr.head.0.load(Ordering::Acquire);
        loop {
            let head = ring.hdr.head.0.load(Ordering::Acquire);
            if head < self.tail {
                // (Only if something wrote the head: it never goes back.)
                self.tail = head;
                self.stuck_since = None;
            }
            if head.saturating_sub(self.tail) > cap {
                self.lost = self.lost.saturating_add(head - cap - self.tail);
                self.tail = head - cap;
                self.stuck_since = None;
            }
            if self.tail >= head.min(end) {
                break;
            }
            let rec = &ring.recs[(self.tail % cap) as usize];
            let mut w = [0u64; RECORD_WORDS];
            let s1 = rec.words[0].load(Ordering::Acquire);
            for (i, v) in w.iter_mut().enumerate().skip(1) {
                *v = rec.words[i].load(Ordering::Relaxed);
            }
            fence(Ordering::Acquire);
            let s2 = rec.words[0].load(Ordering::Relaxed);
            w[0] = s1;
            let want = self.tail + 1;
            if s1 == want && s2 == want {
                self.stuck_since = None;
                self.tail += 1;
                match (check(&w) == w[RECORD_WORDS - 1])
                    .then(|| decode(&w))
                    .flatten()
                {
                    Some(d) => out.push(d),
                    None => self.lost = self.lost.saturating_add(1),
                }
            } else if s1 != BUSY && s1 > want && s1 != 0 {
                // Overwritten by a later lap before we got here.
                self.lost = self.lost.saturating_add(1);
                self.tail += 1;
                self.stuck_since = None;
            } else {
                // Not published yet (being written, or its writer died).
                let since = *self.stuck_since.get_or_insert(now);
                if now.saturating_sub(since) < STUCK_NS {
                    break;
                }
                self.lost = self.lost.saturating_add(1);
                self.tail += 1;
                self.stuck_since = None;
            }
        }
        out.len() - before
    }

    /// Ends the recording: turns this recorder's recording off, so that no event claims a
    /// record after this (one that already saw the flag may still claim one), then reads every
    /// record claimed before, waiting at most 200 ms for those still being written; the ones
    /// never finished count as lost. Returns how many it appended. The ring itself is let go
    /// when the reader is dropped.
    pub fn finish_into(&mut self, out: &mut Vec<Decoded>) -> usize {
        let hdr = self.ring.hdr;
        if self.holds() {
            let _ = hdr
                .recording
                .compare_exchange(self.on, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
        let before = out.len();
        let until = monotonic_ns().saturating_add(STUCK_NS);
        loop {
            self.poll_records(out);
            let head = hdr.head.0.load(Ordering::Acquire);
            if self.tail >= head {
                break;
            }
            if monotonic_ns() >= until {
                self.lost = self.lost.saturating_add(head - self.tail);
                self.tail = head;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        out.len() - before
    }

    /// Moves the reader to the ring's head: the records claimed so far are not read.
    pub(crate) fn skip_to_head(&mut self) {
        self.tail = self.ring.hdr.head.0.load(Ordering::Acquire);
        self.stuck_since = None;
    }

    /// Whether this recorder still holds the ring (no other took it over).
    fn holds(&self) -> bool {
        let hdr = self.ring.hdr;
        hdr.recorder.load(Ordering::Acquire) == self.recorder
            && hdr.session.load(Ordering::Acquire) == self.session
    }

    /// How many times this recorder found its recording turned off and turned it on again:
    /// it had been stopped (SIGSTOP, a debugger) past its lease, and an event then turned the
    /// ring off. The events of those pauses are missing, and not counted in [`Reader::lost`].
    pub fn paused(&self) -> u64 {
        self.paused
    }

    /// Whether another recorder took the ring over (this one was stopped past its lease):
    /// this one then neither renews nor stops the recording, which is the other's.
    pub fn superseded(&self) -> bool {
        self.superseded
    }

    /// Records lost so far: overwritten before they were read (the ring was lapped), torn, or
    /// never finished by their writer.
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let hdr = self.ring.hdr;
        // The ring let go of first, then our recording (only ours: a recorder that starts
        // meanwhile sets the flag to its own) turned off.
        if self.holds()
            && hdr
                .recorder
                .compare_exchange(self.recorder, 0, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            let _ = hdr
                .recording
                .compare_exchange(self.on, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
    }
}

fn decode(w: &[u64; RECORD_WORDS]) -> Option<Decoded> {
    let kind = Kind::of((w[2] & 0xff) as u8)?;
    let what_no = ((w[2] >> 8) & 0xff) as usize;
    let what = *WHATS.get(what_no.checked_sub(1)?)?;
    let nints = ((w[2] >> 16) & 0xff) as usize;
    let slen = ((w[2] >> 24) & 0xff) as usize;
    let pid = (w[2] >> 32) as u32 as i32;
    let tid = w[3] as u32 as i32;
    let (names, sname) = schema(kind, what);
    if slen > STR_BYTES {
        return None;
    }
    let ints = if kind == Kind::Call && what == super::what::ENTER && nints > 0 {
        // A call's arguments: a tag naming them, then their values.
        let names = super::CallArgs::names(w[4] as i64)?;
        if nints != 1 + names.len() {
            return None;
        }
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, w[5 + i] as i64))
            .collect()
    } else {
        if nints != names.len() {
            return None;
        }
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, w[4 + i] as i64))
            .collect()
    };
    let mut sbuf = [0u8; STR_BYTES];
    for i in 0..STR_BYTES / 8 {
        sbuf[i * 8..i * 8 + 8].copy_from_slice(&w[4 + INTS + i].to_le_bytes());
    }
    let string =
        (!sname.is_empty()).then(|| (sname, String::from_utf8_lossy(&sbuf[..slen]).into_owned()));
    Some(Decoded {
        ns: w[1],
        kind,
        what,
        pid,
        tid,
        ints,
        string,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn ring(n: usize) -> (Box<RingHeader>, Vec<Record>) {
        (
            Box::default(),
            (0..n).map(|_| Record::default()).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn untraced_ring_records_nothing() {
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        ring.put(
            Kind::State,
            super::super::what::STATE,
            2,
            1,
            &[0, -1],
            "READY",
        );
        assert_eq!(h.head.0.load(Ordering::Relaxed), 0);
        Ring::none().put(
            Kind::State,
            super::super::what::STATE,
            2,
            1,
            &[0, -1],
            "READY",
        );
    }

    #[test]
    fn records_come_back_in_order_with_their_fields() {
        use super::super::what as w;
        let (h, r) = ring(8);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        ring.put(Kind::Call, w::ENTER, 2, 1, &[], "MsgSend");
        ring.put(Kind::State, w::STATE, 2, 1, &[3, 1], "SEND");
        ring.put(
            Kind::Msg,
            w::REPLY,
            3,
            1,
            &[2, 1, 1, 0x10001, -5, 64, -1, 3],
            "",
        );
        ring.put(
            Kind::Call,
            w::EXIT,
            2,
            1,
            &[-3],
            "a name longer than twenty-four bytes",
        );
        let mut out = Vec::new();
        assert_eq!(reader.poll(&mut out), 4);
        assert_eq!(out[0].what, w::ENTER);
        assert_eq!(out[0].string, Some(("call", "MsgSend".into())));
        assert_eq!(out[1].int("peer_pid"), Some(3));
        assert_eq!(out[1].int("chid"), Some(1));
        assert_eq!(out[2].kind, Kind::Msg);
        assert_eq!(out[2].int("exchange"), Some(-5));
        assert_eq!(out[2].int("status"), Some(-1));
        assert_eq!(out[2].int("error"), Some(3), "the eighth field");
        assert_eq!((out[2].pid, out[2].tid), (3, 1));
        assert_eq!(
            out[3].string,
            Some((
                "call",
                "a name longer than twenty".chars().take(24).collect()
            ))
        );
        assert!(out.windows(2).all(|p| p[0].ns <= p[1].ns));
        assert_eq!(reader.lost(), 0);
        drop(reader);
        assert!(!ring.recording(), "a dropped reader stops the recording");
    }

    #[test]
    fn a_lapped_reader_counts_what_it_lost() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        for i in 0..10 {
            ring.put(Kind::Timer, w::FIRED, 2, 1, &[i], "timer");
        }
        let mut out = Vec::new();
        reader.poll(&mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(reader.lost(), 6);
        assert_eq!(
            out.iter()
                .map(|d| d.int("timer").unwrap())
                .collect::<Vec<_>>(),
            [6, 7, 8, 9]
        );
    }

    #[test]
    fn an_unfinished_record_is_waited_for_then_counted_lost() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        // A writer that claimed record 0 and died before publishing it.
        h.head.0.fetch_add(1, Ordering::Relaxed);
        r[0].words[0].store(BUSY, Ordering::Relaxed);
        ring.put(Kind::Teardown, w::TEARDOWN, 2, 0, &[], "done");
        let mut out = Vec::new();
        assert_eq!(reader.poll(&mut out), 0, "waits for the unfinished record");
        std::thread::sleep(Duration::from_nanos(STUCK_NS + 10_000_000));
        assert_eq!(reader.poll(&mut out), 1);
        assert_eq!(reader.lost(), 1);
        assert_eq!(out[0].string, Some(("step", "done".into())));
    }

    #[test]
    fn finishing_turns_the_ring_off_reads_what_was_claimed_and_counts_the_unfinished_lost() {
        use super::super::what as w;
        let (h, r) = ring(8);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[1], "timer");
        // A writer that claimed a record and died before publishing it.
        h.head.0.fetch_add(1, Ordering::Relaxed);
        let mut out = Vec::new();
        let t0 = std::time::Instant::now();
        assert_eq!(reader.finish_into(&mut out), 1);
        assert!(
            t0.elapsed() >= Duration::from_nanos(STUCK_NS),
            "waited for it"
        );
        assert_eq!(reader.lost(), 1);
        assert!(!ring.recording(), "no event claims a record after the end");
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[2], "timer");
        assert_eq!(h.head.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_calls_arguments_come_back_named() {
        use super::super::{call_enter, call_enter_with, CallArgs};
        let (h, r) = ring(8);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        call_enter_with(
            ring,
            2,
            1,
            "MsgReply",
            CallArgs::Reply {
                rcvid: 0x10002,
                status: -3,
            },
        );
        call_enter_with(
            ring,
            2,
            1,
            "MsgSendPulse",
            CallArgs::Pulse {
                coid: 0x4000_0001,
                code: 5,
                value: 42,
            },
        );
        call_enter(ring, 2, 1, "TimerTimeout");
        call_enter_with(ring, 2, 1, "ThreadCancel", CallArgs::Tid(3));
        let mut out = Vec::new();
        assert_eq!(reader.poll(&mut out), 4);
        assert_eq!(out[0].ints, [("rcvid", 0x10002), ("status", -3)]);
        assert_eq!(
            out[1].ints,
            [("coid", 0x4000_0001), ("code", 5), ("value", 42)]
        );
        assert_eq!(out[1].string, Some(("call", "MsgSendPulse".into())));
        assert!(out[2].ints.is_empty());
        assert_eq!(
            out[3].ints,
            [("tid_arg", 3)],
            "the target thread, not the caller"
        );
    }

    #[test]
    fn a_torn_record_is_dropped() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[7], "timer");
        r[0].words[5].store(99, Ordering::Relaxed);
        let mut out = Vec::new();
        assert_eq!(reader.poll(&mut out), 0);
        assert_eq!(reader.lost(), 1);
    }

    #[test]
    fn an_expired_lease_turns_recording_off_and_a_live_one_refuses_a_second_recorder() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let reader = ring.start(std::process::id() as i32).unwrap();
        // Another live process (our parent, say) asks while our lease runs: EBUSY.
        let other = nix::unistd::getppid().as_raw();
        assert_eq!(ring.start(other).unwrap_err(), Errno::EBUSY);
        std::mem::forget(reader); // a recorder killed without stopping
        h.lease_until.store(1, Ordering::Relaxed);
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[7], "timer");
        assert!(
            !ring.recording(),
            "the first event past the lease turns it off"
        );
        assert_eq!(h.head.0.load(Ordering::Relaxed), 0, "and is not recorded");
        // A new recorder may start.
        let _r2 = ring.start(other).unwrap();
    }

    /// A recorder stopped past its lease (SIGSTOP) whose ring another took over: once it runs
    /// again it neither turns the ring on again nor renews the other's lease, and when the
    /// other stops, the ring is off (it was turned on again by the stopped one, which then
    /// no longer held it and left it on at its end; and a third could start beside it).
    #[test]
    fn a_recorder_whose_ring_was_taken_over_leaves_it_alone() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let me = std::process::id() as i32;
        let other = nix::unistd::getppid().as_raw();
        let mut a = ring.start(me).unwrap();
        // `a` is stopped past its lease; an event turns the ring off; `b` starts.
        h.lease_until.store(1, Ordering::Relaxed);
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[7], "timer");
        assert!(!ring.recording());
        let mut b = ring.start(other).unwrap();
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[8], "timer");
        // `a` runs again: it still reads (the records are there), but the ring is `b`'s.
        let mut out = Vec::new();
        a.poll(&mut out);
        assert!(a.superseded());
        assert_eq!(a.paused(), 0);
        assert_eq!(ring.start(1).unwrap_err(), Errno::EBUSY, "`b` holds it");
        b.poll(&mut out);
        assert!(!b.superseded());
        drop(b);
        assert!(!ring.recording(), "`b` stopped its recording");
        a.poll(&mut out);
        assert!(!ring.recording(), "`a` did not turn it on again");
        drop(a);
        assert!(!ring.recording());
        assert_eq!(h.recorder.load(Ordering::Relaxed), 0);
        // And the ring is free.
        drop(ring.start(other).unwrap());
    }

    /// A recorder that finds its own recording turned off (it was stopped past its lease, and
    /// no other took the ring) turns it on again and counts the pause: the events meanwhile
    /// are missing, and `lost` does not count them.
    #[test]
    fn a_recorder_paused_past_its_lease_says_so() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let mut a = ring.start(std::process::id() as i32).unwrap();
        h.lease_until.store(1, Ordering::Relaxed);
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[7], "timer");
        assert!(!ring.recording());
        let mut out = Vec::new();
        a.poll(&mut out);
        assert!(ring.recording(), "on again");
        assert_eq!((a.paused(), a.lost(), a.superseded()), (1, 0, false));
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[8], "timer");
        a.poll(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(a.paused(), 1);
    }

    /// A writer that saw an earlier recording's lease run out turns off that recording only:
    /// not the one a new recorder started meanwhile (the flag holds the recording's number).
    #[test]
    fn an_expired_lease_turns_off_only_the_recording_it_belongs_to() {
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let a = ring.start(std::process::id() as i32).unwrap();
        let seen = h.recording.load(Ordering::Relaxed);
        std::mem::forget(a);
        h.lease_until.store(1, Ordering::Relaxed);
        let _b = ring.start(nix::unistd::getppid().as_raw()).unwrap();
        assert_ne!(h.recording.load(Ordering::Relaxed), seen);
        // What `write` does with the flag it loaded before `b` started.
        let _ = h
            .recording
            .compare_exchange(seen, 0, Ordering::Relaxed, Ordering::Relaxed);
        assert!(ring.recording());
    }

    /// A head written near the end of its range (nothing but a stray write puts it there):
    /// the writers and the reader go on without overflowing (a panic in a debug build, in a
    /// writer under the kernel lock).
    #[test]
    fn a_head_near_its_end_overflows_nothing() {
        use super::super::what as w;
        let (h, r) = ring(4);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        h.head.0.store(u64::MAX - 2, Ordering::Relaxed);
        for i in 0..6 {
            ring.put(Kind::Timer, w::FIRED, 2, 1, &[i], "timer");
        }
        let mut out = Vec::new();
        reader.poll(&mut out);
        std::thread::sleep(Duration::from_nanos(STUCK_NS + 10_000_000));
        reader.poll(&mut out);
        // And back to a small head: the reader follows it.
        h.head.0.store(0, Ordering::Relaxed);
        reader.poll(&mut out);
        ring.put(Kind::Timer, w::FIRED, 2, 1, &[9], "timer");
        out.clear();
        reader.poll(&mut out);
        assert_eq!(
            out.iter().map(|d| d.int("timer")).collect::<Vec<_>>(),
            [Some(9)]
        );
    }

    /// Records of any bytes another process may leave in the region (with a right number and
    /// check word: a writer of its own): the reader decodes or drops each, and never panics
    /// or indexes out of bounds. (A guard: nothing to fix.)
    #[test]
    fn garbage_records_decode_or_drop_without_panicking() {
        let (h, r) = ring(8);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = Vec::new();
        let mut decoded = 0;
        for n in 0..20_000u64 {
            let mut w = [0u64; RECORD_WORDS];
            for v in w.iter_mut() {
                *v = rnd();
            }
            if n % 2 == 0 {
                // Mostly in range, so that decoding goes deep.
                let kind = rnd() % 11;
                let what = rnd() % (WHATS.len() as u64 + 1);
                let nints = rnd() % 9;
                let slen = rnd() % 30;
                w[2] = kind | what << 8 | nints << 16 | slen << 24 | (rnd() << 32);
            }
            w[0] = n + 1;
            w[RECORD_WORDS - 1] = check(&w);
            let rec = &r[(n % 8) as usize];
            for (i, v) in w.iter().enumerate() {
                rec.words[i].store(*v, Ordering::Relaxed);
            }
            h.head.0.store(n + 1, Ordering::Relaxed);
            decoded += reader.poll(&mut out);
            out.clear();
        }
        assert!(decoded > 0);
        assert_eq!(reader.lost() + decoded as u64, 20_000);
    }

    /// A ring of 1 record, or of a number that is not a power of two: records come back in
    /// order and the lapped ones are counted, across the head's wrap of the ring. (A guard.)
    #[test]
    fn rings_of_one_or_an_odd_number_of_records_work() {
        use super::super::what as w;
        for cap in [1usize, 3, 5] {
            let (h, r) = ring(cap);
            let ring = Ring::new(&h, &r);
            let mut reader = ring.start(std::process::id() as i32).unwrap();
            let mut out = Vec::new();
            let mut next = 0;
            for burst in [1, cap, cap + 2, 2 * cap + 1, 1] {
                for _ in 0..burst {
                    ring.put(Kind::Timer, w::FIRED, 2, 1, &[next], "timer");
                    next += 1;
                }
                let lost = reader.lost();
                out.clear();
                reader.poll(&mut out);
                let got: Vec<i64> = out.iter().map(|d| d.int("timer").unwrap()).collect();
                let kept = burst.min(cap) as i64;
                assert_eq!(got, (next - kept..next).collect::<Vec<_>>(), "cap {cap}");
                assert_eq!(reader.lost() - lost, (burst - burst.min(cap)) as u64);
            }
        }
    }

    /// Writers as fast as they go: each poll takes at most a ring's worth of records (those
    /// claimed when it began) and returns, so that the recorder renews its lease and hands
    /// the records on. (A guard: a poll read on while records came, which on this machine's
    /// two CPUs the reader always caught up with.)
    #[test]
    fn a_poll_returns_while_writers_keep_writing() {
        use super::super::what as w;
        let (h, r) = ring(64);
        let ring = Ring::new(&h, &r);
        let mut reader = ring.start(std::process::id() as i32).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        ring.put(Kind::Timer, w::FIRED, 2, 1, &[1], "timer");
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(20));
            let mut out = Vec::new();
            let t0 = std::time::Instant::now();
            for _ in 0..50 {
                out.clear();
                reader.poll(&mut out);
                assert!(out.len() <= 64, "{} records in one poll", out.len());
            }
            let took = t0.elapsed();
            stop.store(true, Ordering::Relaxed);
            assert!(took < Duration::from_secs(1), "50 polls took {took:?}");
        });
        assert!(ring.recording());
    }
}
