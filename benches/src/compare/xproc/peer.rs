//! The peer's side of a run between processes: what this program does when started as a peer
//! ([`super::PEER_ARG`]): a round trip's server or a one-way producer, each role set up from
//! its arguments, marking its phases and reporting over [`Link`].

use super::super::baselines::{ring_produce, OneWay, Ring, RoundTrip, ServerCheck};
use super::super::workloads::{asyncmsg_produce, asyncmsg_queue, srr_serve};
use super::mailboxes::{SharedMailboxes, TO_CLIENT, TO_SERVER};
use super::process::{Link, Report};
use super::{bind, leave, mono_ns};
use crate::harness::{allowed_cpus, pin_current_thread, Marks, Usage};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use userlib::asyncmsg::{self, AsyncConnAttr};
use userlib::consts::_NTO_SIDE_CHANNEL;
use userlib::{qnx, Kernel};

/// A one-way producer's marks: at the start, says `warm` and waits for `go`, then takes its
/// usage; at the finish takes it again.
struct PeerMarks<'a> {
    link: RefCell<&'a mut Link>,
    at_start: RefCell<Option<Usage>>,
    at_finish: RefCell<Option<Usage>>,
}

impl Marks for PeerMarks<'_> {
    fn start(&self) {
        let mut link = self.link.borrow_mut();
        link.tell("warm");
        match link.line() {
            Some(l) if l == "go" => {}
            other => panic!("the measuring side said {other:?} where \"go\" was expected"),
        }
        *self.at_start.borrow_mut() = Some(Usage::now());
    }

    fn finish(&self) {
        *self.at_finish.borrow_mut() = Some(Usage::now());
    }
}

impl PeerMarks<'_> {
    fn usage(&self) -> Usage {
        let u0 = self.at_start.borrow().expect("the start mark");
        let u1 = self.at_finish.borrow().expect("the finish mark");
        u1.since(u0)
    }
}

/// The peer's arguments after [`super::PEER_ARG`]: `ROLE PARENT_PID CPU|- ROLE_ARGS...`.
pub(super) fn peer_main(args: &[String]) -> Result<(), String> {
    let [role, parent, cpu, rest @ ..] = args else {
        return Err("expected ROLE PARENT_PID CPU|- ARGS...".into());
    };
    let parent: i32 = parent
        .parse()
        .map_err(|_| format!("bad parent pid {parent:?}"))?;
    // Die with the thread that started us; and if it is gone already, do not start.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    if nix::unistd::getppid().as_raw() != parent {
        return Err(format!("the measuring process {parent} is gone"));
    }
    set_affinity(cpu)?;
    let a = Args(rest);
    match role.as_str() {
        "srr-server" => srr_server(&a.path(0)?, a.rt(1)?),
        "mailbox-server" => {
            let spin = a.num(1)?;
            let spin = (spin > 0).then(|| Duration::from_nanos(spin));
            mailbox_server(&a.path(0)?, spin, a.rt(2)?)
        }
        "pipe-server" => pipe_server(&a.path(0)?, &a.path(1)?, a.rt(2)?),
        "asyncmsg-producer" => {
            let (pid, chid) = (a.num(1)? as i32, a.num(2)? as i32);
            let (batch, trigger) = (a.num(3)? as u32, Duration::from_nanos(a.num(4)?));
            let (w, epoch) = a.one_way(5)?;
            asyncmsg_producer(&a.path(0)?, pid, chid, batch, trigger, &w, epoch)
        }
        "ring-producer" => {
            let (slots, every) = (a.num(1)?, a.num(2)?);
            let (w, epoch) = a.one_way(3)?;
            if !slots.is_power_of_two() || every == 0 {
                return Err(format!(
                    "bad ring shape {slots} slots, publish every {every}"
                ));
            }
            ring_producer(&a.path(0)?, slots, every, &w, epoch)
        }
        other => return Err(format!("no such role {other:?}")),
    }
    Ok(())
}

/// Pins this process to `cpu`, or lets it run on every CPU allowed (`-`).
fn set_affinity(cpu: &str) -> Result<(), String> {
    if cpu == "-" {
        let mut set = nix::sched::CpuSet::new();
        for c in allowed_cpus() {
            let _ = set.set(c);
        }
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
        return Ok(());
    }
    let c: usize = cpu.parse().map_err(|_| format!("bad CPU {cpu:?}"))?;
    pin_current_thread(c).map_err(|e| format!("pinning to CPU {c}: {e}"))
}

/// A role's arguments.
struct Args<'a>(&'a [String]);

impl Args<'_> {
    fn get(&self, i: usize) -> Result<&str, String> {
        self.0
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("argument {i} missing from {:?}", self.0))
    }

    fn num(&self, i: usize) -> Result<u64, String> {
        let s = self.get(i)?;
        s.parse()
            .map_err(|_| format!("argument {i}, {s:?}, is not a number"))
    }

    fn path(&self, i: usize) -> Result<PathBuf, String> {
        Ok(PathBuf::from(self.get(i)?))
    }

    /// `SIZE WARMUP N` from `i` on.
    fn rt(&self, i: usize) -> Result<RoundTrip, String> {
        let rt = RoundTrip {
            placement: crate::harness::Placement::Unpinned,
            msg_size: self.num(i)? as usize,
            warmup: self.num(i + 1)?,
            n: self.num(i + 2)?,
        };
        if rt.msg_size < super::super::baselines::MIN_ROUND_TRIP_SIZE || rt.msg_size > 1 << 24 {
            return Err(format!("bad message size {}", rt.msg_size));
        }
        Ok(rt)
    }

    /// `SIZE WARMUP PER_PRODUCER EPOCH_NS` from `i` on.
    fn one_way(&self, i: usize) -> Result<(OneWay, u64), String> {
        let w = OneWay {
            placement: crate::harness::Placement::Unpinned,
            msg_size: self.num(i)? as usize,
            producers: 1,
            warmup: self.num(i + 1)?,
            per_producer: self.num(i + 2)?,
            pace: None,
        };
        if w.msg_size < super::super::baselines::MIN_ONE_WAY_SIZE || w.msg_size > 1 << 24 {
            return Err(format!("bad message size {}", w.msg_size));
        }
        Ok((w, self.num(i + 3)?))
    }
}

/// Message `seq`'s stamp against the measuring side's epoch on the shared clock.
fn stamp(w: &OneWay, seq: u64, epoch_mono: u64) -> u64 {
    if w.stamped(seq) {
        mono_ns().saturating_sub(epoch_mono).max(1)
    } else {
        0
    }
}

fn srr_server(path: &Path, rt: RoundTrip) {
    let mut link = Link::new();
    let k = Kernel::open_shared(path)
        .unwrap_or_else(|e| panic!("the shared kernel at {}: {e}", path.display()));
    let me = k.process_attach_self().expect("joining the shared kernel");
    bind(&k, me);
    let chid = qnx::channel_create(0).expect("ChannelCreate");
    link.tell(&format!("ready {} {chid}", me.pid));
    let mut u0 = None;
    let bad = srr_serve(chid, rt.msg_size, rt.warmup, rt.warmup + rt.n, || {
        u0 = Some(Usage::now())
    });
    let u1 = Usage::now();
    let used = u1.since(u0.unwrap_or(u1));
    link.tell(&Report::line(bad, used, None));
    link.wait_for_end();
    leave(&k, me);
}

/// Serves `rt`'s round trips: `take` waits for a request and copies it in, `post` sends a
/// reply; each request is checked ([`ServerCheck`]). Says `done` with its usage over the timed
/// part when the last reply is out.
fn serve_round_trips(
    link: &Link,
    rt: RoundTrip,
    mut take: impl FnMut(&mut [u8]),
    mut post: impl FnMut(&[u8]),
) {
    let mut chk = ServerCheck::new(rt.warmup);
    let mut req = vec![0u8; rt.msg_size];
    let mut reply = vec![0xa5u8; rt.msg_size];
    let mut u0 = None;
    for i in 0..rt.warmup + rt.n {
        if i == rt.warmup {
            u0 = Some(Usage::now());
        }
        take(&mut req);
        chk.check(&req, true, &mut reply);
        post(&reply);
    }
    let u1 = Usage::now();
    link.tell(&Report::line(
        chk.bad_timed,
        u1.since(u0.unwrap_or(u1)),
        None,
    ));
}

fn mailbox_server(path: &Path, spin: Option<Duration>, rt: RoundTrip) {
    let mut link = Link::new();
    let sh = SharedMailboxes::map(path, rt.msg_size, spin, false);
    link.tell("ready");
    let mut seen = 0u32;
    serve_round_trips(
        &link,
        rt,
        |req| seen = sh.take(TO_SERVER, seen, req),
        |reply| sh.post(TO_CLIENT, reply),
    );
    link.wait_for_end();
}

/// Opens the named pipes `up` (requests) and `down` (replies) in the client's order.
fn pipe_server(up: &Path, down: &Path, rt: RoundTrip) {
    let mut link = Link::new();
    let mut r = std::fs::File::open(up).expect("the pipe to the server");
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(down)
        .expect("the pipe to the client");
    link.tell("ready");
    serve_round_trips(
        &link,
        rt,
        |req| r.read_exact(req).expect("read"),
        |reply| w.write_all(reply).expect("write"),
    );
    link.wait_for_end();
}

fn asyncmsg_producer(
    path: &Path,
    pid: i32,
    chid: i32,
    batch: u32,
    trigger_time: Duration,
    w: &OneWay,
    epoch_mono: u64,
) {
    let mut link = Link::new();
    let k = Kernel::open_shared(path)
        .unwrap_or_else(|e| panic!("the shared kernel at {}: {e}", path.display()));
    let me = k.process_attach_self().expect("joining the shared kernel");
    bind(&k, me);
    let attr = AsyncConnAttr {
        trigger_num_msg: batch,
        trigger_time,
        max_num_buffer: asyncmsg_queue(w.msg_size, batch),
        buffer_size: w.msg_size,
        ..AsyncConnAttr::default()
    };
    let coid = asyncmsg::asyncmsg_connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0, &attr)
        .expect("asyncmsg_connect_attach to the measuring process's channel");
    link.tell("ready");
    let (usage, conn) = {
        let marks = PeerMarks {
            link: RefCell::new(&mut link),
            at_start: RefCell::new(None),
            at_finish: RefCell::new(None),
        };
        let conn = asyncmsg_produce(w, 0, coid, &marks, |seq| stamp(w, seq, epoch_mono));
        (marks.usage(), conn)
    };
    link.tell(&Report::line(0, usage, conn));
    link.wait_for_end();
    let _ = asyncmsg::asyncmsg_connect_detach(coid);
    leave(&k, me);
}

fn ring_producer(path: &Path, slots: u64, publish_every: u64, w: &OneWay, epoch_mono: u64) {
    let mut link = Link::new();
    let ring = Ring::open_file(path, slots, w.msg_size);
    link.tell("ready");
    let usage = {
        let marks = PeerMarks {
            link: RefCell::new(&mut link),
            at_start: RefCell::new(None),
            at_finish: RefCell::new(None),
        };
        ring_produce(&ring, w, &marks, publish_every, |seq| {
            stamp(w, seq, epoch_mono)
        });
        marks.usage()
    };
    link.tell(&Report::line(0, usage, None));
    link.wait_for_end();
}
