//! A fuzzer of the resource-manager layer (`userlib::resmgr`, `userlib::iofunc`) and of the
//! dispatch layer under it, attacking a server as a hostile client would: raw bytes of every
//! length sent with `MsgSend` to the server's channel (on a connection that never opened
//! anything, and on an open file descriptor), structurally valid I/O headers whose fields lie
//! (`nbytes`, offsets, `whence`, `combine_len`, `path_len`, `extra_len`, subtypes, `ioflag`,
//! xtypes, devctl sizes), combine messages, unknown types, repeated closes, `MsgSendv` of many
//! tiny parts, clients that detach or die in the middle of a request, and reply buffers too
//! small for the answer.
//!
//! Properties checked after every attack: the server thread never panics (each
//! `dispatch_handler` runs under `catch_unwind`, a panic is recorded with the message that
//! caused it), no client call hangs (every call runs in a client thread with a deadline: a
//! hang fails the test naming the input), the client gets a reply or one of the errnos QNX's
//! resmgr layer gives (`/work/shared/reference/qnx-resmgr.md` §2.8, §2.10, §4.5: ENOSYS an
//! unknown type, EBADF no binding, EINVAL/EBADMSG malformed, the defaults' documented errnos),
//! and the same server then serves a well-formed open / write / lseek / read / fstat / close
//! with the right data; the layer's bindings and OCBs, the attribute's open counts and the
//! kernel's connection objects return to where they were (nothing half-made leaks).
//!
//! The defects it found are kept as tests asserting the correct behaviour (all fixed: a
//! connect whose ioflag is 0x8000_0000, an open past the attribute's 16-bit open counts; a
//! combine message longer than the receive buffer is a documented deviation).

mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::*;
use userlib::consts::*;
use userlib::dispatch::*;
use userlib::io;
use userlib::iofunc::*;
use userlib::iomsg::*;
use userlib::qnx::*;
use userlib::resmgr::*;
use userlib::zerocopy::IntoBytes;
use userlib::{Errno, IoConnect, KResult, Kernel, Process};

// ===================================================================== the device

const PATH: &str = "/dev/fuzz";
/// How long a client call may take before it counts as a hang (never a speed assertion: a
/// healthy call takes microseconds).
const HANG: Duration = Duration::from_secs(10);
/// The device's largest size (its write handler refuses to grow beyond: EFBIG).
const CAP: usize = 1 << 20;

/// `__DIOF(_DCMD_MISC, 1, int)`: the device's size.
const DCMD_GET: i32 = diof(_DCMD_MISC, 1, 4);
/// `__DIOT(_DCMD_MISC, 2, int)`: truncates the device to the given size.
const DCMD_SET: i32 = diot(_DCMD_MISC, 2, 4);
/// `__DION(_DCMD_MISC, 3)`: the handler waits at the device's gate (tests of clients that go
/// away while the server is busy).
const DCMD_STALL: i32 = dion(_DCMD_MISC, 3);

/// A gate a handler waits at until the test opens it (bounded: after [`HANG`] it goes on, so
/// the server never hangs on the test's own gate).
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, bool)>, // (a handler is waiting, open)
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 = true;
        self.cv.notify_all();
        let deadline = Instant::now() + HANG;
        while !s.1 && Instant::now() < deadline {
            s = self
                .cv
                .wait_timeout(s, Duration::from_millis(10))
                .unwrap()
                .0;
        }
        s.0 = false;
    }
    fn entered(&self) -> bool {
        let deadline = Instant::now() + HANG;
        let mut s = self.state.lock().unwrap();
        while !s.0 && Instant::now() < deadline {
            s = self
                .cv
                .wait_timeout(s, Duration::from_millis(10))
                .unwrap()
                .0;
        }
        s.0
    }
    fn set_open(&self, open: bool) {
        self.state.lock().unwrap().1 = open;
        self.cv.notify_all();
    }
}

struct Dev {
    attr: Arc<IofuncAttr>,
    data: Mutex<Vec<u8>>,
    opened: AtomicUsize,
    closed: AtomicUsize,
    gate: Gate,
}

/// Which handlers the server has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavor {
    /// `iofunc_func_init`'s defaults with read, write and devctl of the device's own (a
    /// careful handler: counts capped by what the message holds), counting opens and closes.
    Device,
    /// `iofunc_func_init`'s defaults only (read answers EOF, write claims every byte).
    Defaults,
}

fn le_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

fn funcs(
    dev: &Arc<Dev>,
    flavor: Flavor,
) -> (ResmgrConnectFuncs<IofuncAttr>, ResmgrIoFuncs<IofuncOcb>) {
    let (mut connect, mut io) = iofunc_func_init::<IofuncOcb>();
    let d = Arc::clone(dev);
    let open = connect.open.take().unwrap();
    connect.open = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoOpen, attr: &Arc<IofuncAttr>| {
            let n = open(ctp, msg, attr);
            if n == EOK {
                d.opened.fetch_add(1, Ordering::SeqCst);
            }
            n
        },
    ));
    let d = Arc::clone(dev);
    let close_ocb = io.close_ocb.take().unwrap();
    io.close_ocb = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, ocb: &Arc<IofuncOcb>| {
            d.closed.fetch_add(1, Ordering::SeqCst);
            close_ocb(ctp, ocb)
        },
    ));
    if flavor == Flavor::Defaults {
        return (connect, io);
    }
    let d = Arc::clone(dev);
    io.read = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoRead, ocb: &Arc<IofuncOcb>| {
            if let Err(e) = iofunc_read_verify(msg, ocb) {
                return e.0;
            }
            let explicit = match msg.xtype & _IO_XTYPE_MASK {
                _IO_XTYPE_NONE => None,
                _IO_XTYPE_OFFSET => match ctp.current().get(16..24) {
                    Some(b) => Some(i64::from_ne_bytes(b.try_into().unwrap())),
                    None => return Errno::EBADMSG.0,
                },
                _ => return Errno::ENOSYS.0,
            };
            let data = d.data.lock().unwrap();
            let mut o = ocb.fields();
            let from = explicit.unwrap_or(o.offset);
            if from < 0 {
                return Errno::EINVAL.0;
            }
            let at = usize::try_from(from).unwrap_or(usize::MAX).min(data.len());
            let n = usize::try_from(msg.get_nbytes())
                .unwrap_or(usize::MAX)
                .min(data.len() - at);
            if explicit.is_none() {
                o.offset = (at + n) as i64;
            }
            ctp.set_status(n as i64);
            ctp.ptr(&data[at..at + n])
        },
    ));
    let d = Arc::clone(dev);
    io.write = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoWrite, ocb: &Arc<IofuncOcb>| {
            if let Err(e) = iofunc_write_verify(msg, ocb) {
                return e.0;
            }
            let (explicit, skip) = match msg.xtype & _IO_XTYPE_MASK {
                _IO_XTYPE_NONE => (None, 16),
                _IO_XTYPE_OFFSET => match ctp.current().get(16..24) {
                    Some(b) => (Some(i64::from_ne_bytes(b.try_into().unwrap())), 24),
                    None => return Errno::EBADMSG.0,
                },
                _ => return Errno::ENOSYS.0,
            };
            // What the client says it sends, but never more than the message (or, for a
            // non-final combine part, answered by no rcvid, the part) holds.
            let end = if ctp.rcvid() == 0 {
                ctp.offset + ctp.size
            } else {
                usize::try_from(ctp.info().srcmsglen).unwrap_or(0)
            };
            let there = end.saturating_sub(ctp.offset + skip);
            let n = usize::try_from(msg.get_nbytes())
                .unwrap_or(usize::MAX)
                .min(there);
            let from = explicit.unwrap_or(ocb.fields().offset);
            let Ok(at) = usize::try_from(from) else {
                return Errno::EINVAL.0;
            };
            if at.checked_add(n).is_none_or(|end| end > CAP) {
                return libc::EFBIG;
            }
            // The bytes received already are taken from the buffer (QNX's resmgr_msgget),
            // the rest read from the client.
            let mut buf = vec![0u8; n];
            let inbuf = ctp.current().get(skip..).unwrap_or(&[]);
            let got = if n <= inbuf.len() {
                buf.copy_from_slice(&inbuf[..n]);
                n
            } else {
                match resmgr_msgread(ctp, &mut buf, skip) {
                    Ok(g) => g.min(n),
                    Err(e) => return e.0,
                }
            };
            let mut data = d.data.lock().unwrap();
            if data.len() < at + got {
                data.resize(at + got, 0);
            }
            data[at..at + got].copy_from_slice(&buf[..got]);
            d.attr.fields().nbytes = data.len() as i64;
            if explicit.is_none() {
                ocb.fields().offset = (at + got) as i64;
            }
            ctp.set_status(got as i64);
            EOK
        },
    ));
    let d = Arc::clone(dev);
    io.devctl = Some(Arc::new(
        move |ctp: &mut ResmgrContext<'_>, msg: &IoDevctl, ocb: &Arc<IofuncOcb>| {
            let st = iofunc_devctl_default(ctp, msg, ocb);
            if st != _RESMGR_DEFAULT {
                return st;
            }
            match msg.dcmd {
                DCMD_GET => {
                    let n = d.data.lock().unwrap().len() as u32;
                    let mut r = IoDevctlReply {
                        ret_val: 7,
                        nbytes: 4,
                        ..Default::default()
                    }
                    .as_bytes()
                    .to_vec();
                    r.extend_from_slice(&n.to_ne_bytes());
                    ctp.ptr(&r)
                }
                DCMD_SET => {
                    let Some(v) = ctp.current().get(16..).and_then(le_u32) else {
                        return Errno::EINVAL.0;
                    };
                    let v = v as usize;
                    if v > CAP {
                        return libc::EFBIG;
                    }
                    let mut data = d.data.lock().unwrap();
                    data.resize(v, 0);
                    d.attr.fields().nbytes = v as i64;
                    EOK
                }
                DCMD_STALL => {
                    d.gate.wait();
                    EOK
                }
                _ => _RESMGR_DEFAULT,
            }
        },
    ));
    (connect, io)
}

// ===================================================================== the rig

/// A kernel, a server process whose one thread runs the dispatch loop of `/dev/fuzz`, and a
/// client process whose calls each run in a thread of their own under a deadline.
struct Rig {
    k: Kernel,
    flavor: Flavor,
    dev: Arc<Dev>,
    dpp: Dispatch,
    spid: i32,
    chid: i32,
    stop: Arc<AtomicBool>,
    panics: Arc<Mutex<Vec<String>>>,
    loop_thread: Option<JoinHandle<()>>,
    /// What hung first (every later call fails at once: the rig is spent).
    hung: Option<String>,
    conns_baseline: u32,
    // Dropped last, the client first.
    client: Process,
    _server: Process,
}

impl Rig {
    fn new(flavor: Flavor) -> Rig {
        Rig::new_in(kernel(), flavor)
    }

    fn new_in(k: Kernel, flavor: Flavor) -> Rig {
        let server = process(&k);
        let client = process(&k);
        let dev = Arc::new(Dev {
            attr: Arc::new(IofuncAttr::new(libc::S_IFCHR | 0o666)),
            data: Mutex::new(Vec::new()),
            opened: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            gate: Gate::default(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let panics = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let loop_thread = {
            let (dev, stop, panics) = (Arc::clone(&dev), Arc::clone(&stop), Arc::clone(&panics));
            server
                .spawn(move || {
                    let dpp = dispatch_create().unwrap();
                    let (connect, io) = funcs(&dev, flavor);
                    resmgr_attach(
                        &dpp,
                        None,
                        Some(PATH),
                        _FTYPE_ANY,
                        0,
                        &connect,
                        &io,
                        Arc::clone(&dev.attr),
                    )
                    .unwrap();
                    let mut ctp = dispatch_context_alloc(&dpp).unwrap();
                    dispatch_timeout(&dpp, Some(Duration::from_millis(20))).unwrap();
                    tx.send((dpp.clone(), dpp.chid(), getpid().unwrap()))
                        .unwrap();
                    while !stop.load(Ordering::SeqCst) {
                        if let Err(e) = dispatch_block(&mut ctp) {
                            panics
                                .lock()
                                .unwrap()
                                .push(format!("dispatch_block: {e:?}"));
                            break;
                        }
                        if ctp.rcvid() == -1 {
                            continue;
                        }
                        let head: Vec<u8> = ctp.msg().iter().take(48).copied().collect();
                        let (rcvid, info) = (ctp.rcvid(), *ctp.info());
                        let r = catch_unwind(AssertUnwindSafe(|| dispatch_handler(&mut ctp)));
                        if let Err(p) = r {
                            let what = p
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_default();
                            panics.lock().unwrap().push(format!(
                                "handler panicked: {what:?} (rcvid {rcvid}, msglen {}, \
                                 first bytes {head:02x?})",
                                info.msglen
                            ));
                            // The client would wait forever: answer it as the layer should.
                            let _ = msg_error(rcvid, Errno::EFAULT);
                        }
                    }
                })
                .unwrap()
        };
        let (dpp, chid, spid) = rx.recv_timeout(DEADLINE).expect("the server attached");
        let mut rig = Rig {
            conns_baseline: 0,
            k,
            flavor,
            dev,
            dpp,
            spid,
            chid,
            stop,
            panics,
            loop_thread: Some(loop_thread),
            hung: None,
            client,
            _server: server,
        };
        rig.conns_baseline = rig.k.pool_usage().connections.live;
        rig
    }

    /// Runs `f` in a new thread of the client process; Err names what hung or panicked.
    fn run<T: Send + 'static>(
        &mut self,
        what: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        if let Some(h) = &self.hung {
            return Err(format!("rig spent: an earlier call hung ({h})"));
        }
        let (tx, rx) = mpsc::channel();
        self.client
            .spawn(move || {
                let _ = tx.send(f());
            })
            .expect("spawn a client thread");
        match rx.recv_timeout(HANG) {
            Ok(v) => Ok(v),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.hung = Some(what.to_string());
                Err(format!("HANG: no answer within {HANG:?} to {what}"))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(format!("the client thread panicked in {what}"))
            }
        }
    }

    fn panics(&self) -> Vec<String> {
        self.panics.lock().unwrap().clone()
    }

    /// A connection to the server's channel that opened nothing.
    fn raw_coid(&mut self) -> Result<i32, String> {
        let (spid, chid) = (self.spid, self.chid);
        self.run("connect_attach", move || {
            connect_attach(ND_LOCAL_NODE, spid, chid, _NTO_SIDE_CHANNEL, 0)
        })?
        .map_err(|e| format!("connect_attach: {e:?}"))
    }

    fn open(&mut self) -> Result<i32, String> {
        self.run("open", || io::open(PATH, libc::O_RDWR, 0))?
            .map_err(|e| format!("open: {e:?}"))
    }

    /// `MsgSendv` of `parts` on `coid` with a reply buffer of `rlen` bytes.
    fn send(
        &mut self,
        what: &str,
        coid: i32,
        parts: Vec<Vec<u8>>,
        rlen: usize,
    ) -> Result<Sent, String> {
        self.run(what, move || send_parts(coid, &parts, rlen))
    }

    /// What `close(fd)` does: `_IO_CLOSE`, then `ConnectDetach`.
    fn close(&mut self, coid: i32) -> Result<(), String> {
        self.run("close", move || {
            let _ = send_parts(coid, &[close_msg(4)], 0);
            let _ = connect_detach(coid);
        })
    }

    /// The server still serves a well-formed session with the right data.
    fn check_serves(&mut self, tag: u64) -> Result<(), String> {
        let flavor = self.flavor;
        let r = self.run("a well-formed session", move || -> Result<(), String> {
            let e = |what: &'static str| {
                move |err: Errno| format!("well-formed {what} failed: {err:?}")
            };
            let fd = io::open(PATH, libc::O_RDWR, 0).map_err(e("open"))?;
            let data = format!("probe-{tag:016x}");
            let n = io::write(fd, data.as_bytes()).map_err(e("write"))?;
            if n != data.len() {
                return Err(format!("write wrote {n} of {}", data.len()));
            }
            let at = io::lseek(fd, 0, libc::SEEK_SET).map_err(e("lseek"))?;
            if at != 0 {
                return Err(format!("lseek answered {at}"));
            }
            let mut buf = vec![0u8; data.len()];
            let got = io::read(fd, &mut buf).map_err(e("read"))?;
            match flavor {
                Flavor::Device if got != data.len() || buf != data.as_bytes() => {
                    return Err(format!(
                        "read back {:?} instead of {data:?}",
                        String::from_utf8_lossy(&buf[..got])
                    ))
                }
                Flavor::Defaults if got != 0 => return Err(format!("default read gave {got}")),
                _ => {}
            }
            let st = io::fstat(fd).map_err(e("fstat"))?;
            if st.st_mode != libc::S_IFCHR | 0o666 {
                return Err(format!("fstat mode {:o}", st.st_mode));
            }
            let mut fl = [0u8; 4];
            io::devctl(fd, DCMD_ALL_GETFLAGS, &mut fl, None).map_err(e("devctl"))?;
            if i32::from_ne_bytes(fl) & libc::O_ACCMODE != libc::O_RDWR {
                return Err(format!("GETFLAGS {:x}", i32::from_ne_bytes(fl)));
            }
            io::close(fd).map_err(e("close"))?;
            if io::read(fd, &mut buf) != Err(Errno::EBADF) {
                return Err("a closed fd still reads".into());
            }
            Ok(())
        })?;
        r
    }

    /// Nothing is left open: no binding, no OCB, no open count, every OCB closed, the kernel's
    /// connection objects back to where they were once the disconnect pulses are handled.
    fn check_clean(&mut self) -> Result<(), String> {
        let counts = resmgr_counts(&self.dpp);
        if counts != (0, 0) {
            return Err(format!("bindings/OCBs left: {counts:?}"));
        }
        let f = *self.dev.attr.fields();
        if (f.count, f.rcount, f.wcount, f.rlocks, f.wlocks) != (0, 0, 0, 0, 0) {
            return Err(format!("attribute counts left: {f:?}"));
        }
        let (o, c) = (
            self.dev.opened.load(Ordering::SeqCst),
            self.dev.closed.load(Ordering::SeqCst),
        );
        if o != c {
            return Err(format!("{o} opens but {c} close_ocb"));
        }
        let deadline = Instant::now() + HANG;
        loop {
            let live = self.k.pool_usage().connections.live;
            if live <= self.conns_baseline {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "kernel connections: {live}, {} at the start",
                    self.conns_baseline
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// The properties every attack must leave true.
    fn check_all(&mut self, tag: u64) -> Result<(), String> {
        let p = self.panics();
        if !p.is_empty() {
            return Err(format!("server panicked: {p:?}"));
        }
        self.check_serves(tag)?;
        self.check_clean()?;
        let p = self.panics();
        if !p.is_empty() {
            return Err(format!("server panicked: {p:?}"));
        }
        Ok(())
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.dev.gate.set_open(true);
        if let Some(h) = self.loop_thread.take() {
            let deadline = Instant::now() + HANG;
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if h.is_finished() {
                let _ = h.join();
            }
        }
    }
}

// ===================================================================== messages

/// What a send gave: the status or errno, and the reply buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    res: KResult<i64>,
    reply: Vec<u8>,
}

/// `MsgSendv` bounded while SEND-blocked by a TimerTimeout (REPLY-blocked, the server's
/// `_NTO_CHF_UNBLOCK` keeps the client waiting for its answer: the rig's deadline bounds it).
fn send_parts(coid: i32, parts: &[Vec<u8>], rlen: usize) -> Sent {
    let mut reply = vec![0u8; rlen];
    // (Fails only when the calling process is gone; the send then fails as well.)
    let _ = timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(LONG_NS));
    let siov: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let res = msg_sendv(coid, &siov, &mut [&mut reply]);
    Sent { res, reply }
}

fn hdr16(ty: u16, clen: u16, a: u32, b: u32, c: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(&clen.to_ne_bytes());
    v.extend_from_slice(&a.to_ne_bytes());
    v.extend_from_slice(&b.to_ne_bytes());
    v.extend_from_slice(&c.to_ne_bytes());
    v
}

fn close_msg(clen: u16) -> Vec<u8> {
    let mut v = _IO_CLOSE.to_ne_bytes().to_vec();
    v.extend_from_slice(&clen.to_ne_bytes());
    v
}

fn lseek_msg(clen: u16, whence: i16, offset: u64) -> Vec<u8> {
    IoLseek {
        type_: _IO_LSEEK,
        combine_len: clen,
        whence,
        zero: 0,
        offset,
    }
    .as_bytes()
    .to_vec()
}

fn connect_hdr(handle: u32) -> IoConnect {
    IoConnect {
        type_: _IO_CONNECT,
        subtype: _IO_CONNECT_OPEN,
        file_type: _FTYPE_ANY,
        reply_max: 128,
        entry_max: 16,
        key: 0,
        handle,
        ioflag: 3,
        mode: 0,
        sflag: SH_DENYNO,
        access: _IO_FLAG_RD | _IO_FLAG_WR,
        zero: 0,
        path_len: 1,
        eflag: 0,
        extra_type: 0,
        extra_len: 0,
    }
}

/// An `_IO_CONNECT`: the header, `path` (as given: the NUL is the caller's), padding to 8,
/// `extra`.
fn connect_msg(h: &IoConnect, path: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut m = h.to_bytes().to_vec();
    m.extend_from_slice(path);
    m.resize(m.len().next_multiple_of(8), 0);
    m.extend_from_slice(extra);
    m
}

/// The errnos a malformed or refused message may get from QNX's resource-manager layer and
/// the iofunc defaults (reference §2.8, §2.10, §4.5), the device's own (EFBIG) included.
fn allowed_errno(e: Errno) -> bool {
    [
        Errno::EINVAL,
        Errno::EBADMSG,
        Errno::EFAULT,
        Errno::ENOSYS,
        Errno::EBADF,
        Errno::ENOENT,
        Errno::EBUSY,
        Errno::EACCES,
        Errno::EEXIST,
        Errno::EISDIR,
        Errno::EOVERFLOW,
        Errno::ENAMETOOLONG,
        Errno::EPERM,
        Errno(libc::EFBIG),
        Errno(libc::EMSGSIZE),
    ]
    .contains(&e)
}

// ===================================================================== attacks

/// One part of a combine message.
#[derive(Clone, Debug)]
struct Part {
    ty: u16,
    clen: u16,
    body: Vec<u8>,
}

/// A hostile message.
#[derive(Clone, Debug)]
enum Attack {
    /// Any bytes; when `ty` is given (and there are two bytes), they start with it.
    Raw { ty: Option<u16>, bytes: Vec<u8> },
    /// `_IO_READ`/`_IO_READ64` with lying fields, then `tail`.
    Read {
        ty: u16,
        clen: u16,
        nbytes: u32,
        xtype: u32,
        hi: u32,
        tail: Vec<u8>,
    },
    /// `_IO_WRITE`/`_IO_WRITE64` with lying fields, then `data`.
    Write {
        ty: u16,
        clen: u16,
        nbytes: u32,
        xtype: u32,
        hi: u32,
        data: Vec<u8>,
    },
    /// `_IO_LSEEK`.
    Lseek { clen: u16, whence: i16, offset: u64 },
    /// `_IO_DEVCTL` with `nbytes` and data that need not match `dcmd`.
    Devctl {
        clen: u16,
        dcmd: i32,
        nbytes: u32,
        data: Vec<u8>,
    },
    /// `_IO_STAT`.
    Stat { clen: u16, format: u32 },
    /// `_IO_NOTIFY` (no notify handler: ENOSYS).
    Notify { action: i32, flags: i32 },
    /// `_IO_CONNECT` with lying fields.
    Connect {
        hdr: IoConnect,
        path: Vec<u8>,
        extra: Vec<u8>,
    },
    /// A combine message.
    Combine { parts: Vec<Part> },
    /// `_IO_CLOSE`, `times` times.
    Close { clen: u16, times: u8 },
    /// A type nobody handles, `len` bytes (the `combine_len` saying `len`).
    Unknown { ty: u16, len: usize },
}

/// A case: the attack, on a connection that opened nothing or on an open fd, cut to a prefix
/// or not, sent as one part or many, with a reply buffer of `rlen` bytes.
#[derive(Clone, Debug)]
struct Case {
    attack: Attack,
    bound: bool,
    cut: Option<usize>,
    split: Vec<usize>,
    rlen: usize,
}

impl Attack {
    fn messages(&self) -> Vec<Vec<u8>> {
        match self {
            Attack::Raw { ty, bytes } => {
                let mut b = bytes.clone();
                if let (Some(t), true) = (ty, b.len() >= 2) {
                    b[..2].copy_from_slice(&t.to_ne_bytes());
                }
                vec![b]
            }
            Attack::Read {
                ty,
                clen,
                nbytes,
                xtype,
                hi,
                tail,
            } => {
                let mut m = hdr16(*ty, *clen, *nbytes, *xtype, *hi);
                m.extend_from_slice(tail);
                vec![m]
            }
            Attack::Write {
                ty,
                clen,
                nbytes,
                xtype,
                hi,
                data,
            } => {
                let mut m = hdr16(*ty, *clen, *nbytes, *xtype, *hi);
                m.extend_from_slice(data);
                vec![m]
            }
            Attack::Lseek {
                clen,
                whence,
                offset,
            } => vec![lseek_msg(*clen, *whence, *offset)],
            Attack::Devctl {
                clen,
                dcmd,
                nbytes,
                data,
            } => {
                let mut m = hdr16(_IO_DEVCTL, *clen, *dcmd as u32, *nbytes, 0);
                m.extend_from_slice(data);
                vec![m]
            }
            Attack::Stat { clen, format } => {
                let mut m = _IO_STAT.to_ne_bytes().to_vec();
                m.extend_from_slice(&clen.to_ne_bytes());
                m.extend_from_slice(&format.to_ne_bytes());
                vec![m]
            }
            Attack::Notify { action, flags } => {
                let n = IoNotify {
                    type_: _IO_NOTIFY,
                    combine_len: 64,
                    action: *action,
                    flags: *flags,
                    ..Default::default()
                };
                vec![n.as_bytes().to_vec()]
            }
            Attack::Connect { hdr, path, extra } => vec![connect_msg(hdr, path, extra)],
            Attack::Combine { parts } => {
                let mut m = Vec::new();
                for p in parts {
                    m.extend_from_slice(&p.ty.to_ne_bytes());
                    m.extend_from_slice(&p.clen.to_ne_bytes());
                    m.extend_from_slice(&p.body);
                }
                vec![m]
            }
            Attack::Close { clen, times } => (0..*times).map(|_| close_msg(*clen)).collect(),
            Attack::Unknown { ty, len } => {
                let mut m = ty.to_ne_bytes().to_vec();
                m.extend_from_slice(&(*len as u16).to_ne_bytes());
                m.resize(*len, 0x5a);
                vec![m]
            }
        }
    }
}

// ---------------------------------------------------------------- strategies

fn io_types() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => 0x100u16..=0x122,
        1 => prop::sample::select(vec![0u16, 1, 0xff, 0x1fe, 0x1ff, 0x200, 0x7fff, 0x8000, 0xffff]),
        1 => any::<u16>(),
    ]
}

fn lying_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![
            0u32,
            1,
            15,
            16,
            17,
            255,
            256,
            4096,
            65535,
            65536,
            0x7fff_ffff,
            0x8000_0000,
            0x8000_0001,
            u32::MAX - 1,
            u32::MAX
        ]),
        any::<u32>(),
        0u32..512,
    ]
}

fn lying_u16() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            0u16, 1, 2, 3, 4, 8, 15, 16, 17, 40, 64, 255, 256, 0x7fff
        ]),
        any::<u16>(),
        (0u16..64).prop_map(|n| n | _IO_COMBINE_FLAG),
    ]
}

fn combine_len() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => Just(16u16),
        2 => lying_u16(),
    ]
}

fn xtypes() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => Just(_IO_XTYPE_NONE),
        2 => Just(_IO_XTYPE_OFFSET),
        1 => 0u32..=12,
        1 => (0u32..=12).prop_map(|x| x | _IO_XFLAG_NONBLOCK),
        1 => (0u32..=12).prop_map(|x| x | _IO_XFLAG_BLOCK | 0x000f_0000),
        1 => any::<u32>(),
    ]
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn offsets() -> impl Strategy<Value = u64> {
    prop_oneof![
        prop::sample::select(vec![
            0u64,
            1,
            5,
            (-1i64) as u64,
            (-5i64) as u64,
            i64::MAX as u64,
            i64::MIN as u64,
            u64::MAX,
            1 << 32,
            (i64::MAX - 3) as u64
        ]),
        any::<u64>(),
        0u64..64,
    ]
}

fn connect_attack() -> impl Strategy<Value = Attack> {
    (
        prop_oneof![4 => Just(_IO_CONNECT_OPEN), 2 => 0u16..=12, 1 => any::<u16>()],
        prop_oneof![3 => Just(_FTYPE_ANY), 1 => 0u32..=14, 1 => any::<u32>()],
        prop_oneof![
            3 => 0u32..=3,
            1 => Just(0x8000_0000u32),
            1 => any::<u32>(),
            1 => prop::sample::select(vec![
                0x3 | libc::O_CREAT as u32 | libc::O_EXCL as u32,
                0x3 | libc::O_TRUNC as u32,
                0x1 | libc::O_SYNC as u32,
                0x3 | libc::O_APPEND as u32 | libc::O_NONBLOCK as u32,
            ]),
        ],
        prop_oneof![3 => Just(0u32), 1 => any::<u32>()],
        prop_oneof![3 => Just(SH_DENYNO), 1 => 0u16..0x80, 1 => any::<u16>()],
        prop_oneof![3 => Just(_IO_FLAG_RD | _IO_FLAG_WR), 1 => any::<u16>()],
        (lying_u16(), any::<u8>(), any::<u8>(), lying_u16()),
        prop_oneof![6 => Just(0u32), 1 => 1u32..4, 1 => any::<u32>()],
        (bytes(48), bytes(48), any::<bool>()),
    )
        .prop_map(
            |(
                subtype,
                file_type,
                ioflag,
                mode,
                sflag,
                access,
                (path_len, eflag, extra_type, extra_len),
                handle,
                (mut path, extra, honest),
            )| {
                let mut hdr = connect_hdr(handle);
                hdr.subtype = subtype;
                hdr.file_type = file_type;
                hdr.ioflag = ioflag;
                hdr.mode = mode;
                hdr.sflag = sflag;
                hdr.access = access;
                hdr.eflag = eflag;
                hdr.extra_type = extra_type;
                if honest {
                    // The lengths tell the truth; the rest lies.
                    path.retain(|&b| b != 0);
                    path.push(0);
                    hdr.path_len = path.len() as u16;
                    hdr.extra_len = extra.len() as u16;
                } else {
                    hdr.path_len = path_len;
                    hdr.extra_len = extra_len;
                }
                Attack::Connect { hdr, path, extra }
            },
        )
}

/// `_IO_CONNECT_COMBINE` / `_COMBINE_CLOSE` (what `stat()` sends) carrying an I/O message,
/// or a chain of them, honest or lying, after the path.
fn combine_connect_attack() -> impl Strategy<Value = Attack> {
    (
        prop::sample::select(vec![_IO_CONNECT_COMBINE, _IO_CONNECT_COMBINE_CLOSE]),
        prop::collection::vec(part(), 1..4),
        prop_oneof![4 => Just(None), 1 => lying_u16().prop_map(Some)],
        prop_oneof![3 => Just(3u32), 1 => 0u32..=3],
        bytes(12),
    )
        .prop_map(|(subtype, parts, path_len, ioflag, mut path)| {
            path.retain(|&b| b != 0);
            path.push(0);
            let mut extra = Vec::new();
            for p in &parts {
                extra.extend_from_slice(&p.ty.to_ne_bytes());
                extra.extend_from_slice(&p.clen.to_ne_bytes());
                extra.extend_from_slice(&p.body);
            }
            let mut hdr = connect_hdr(0);
            hdr.subtype = subtype;
            hdr.ioflag = ioflag;
            hdr.path_len = path_len.unwrap_or(path.len() as u16);
            hdr.extra_len = extra.len() as u16;
            hdr.extra_type = 0;
            Attack::Connect { hdr, path, extra }
        })
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        // A well-formed lseek part (16 bytes, flag set).
        (any::<bool>(), 0i16..3, 0u64..32).prop_map(|(more, whence, off)| Part {
            ty: _IO_LSEEK,
            clen: if more { 16 | _IO_COMBINE_FLAG } else { 16 },
            body: lseek_msg(0, whence, off)[4..].to_vec(),
        }),
        // A read or stat or close header.
        (
            prop::sample::select(vec![_IO_READ, _IO_STAT, _IO_CLOSE, _IO_WRITE, _IO_DEVCTL]),
            any::<bool>(),
            0u32..64
        )
            .prop_map(|(ty, more, n)| {
                let body = match ty {
                    _IO_STAT => vec![0u8; 4],
                    _IO_CLOSE => vec![],
                    _IO_DEVCTL => hdr16(0, 0, DCMD_ALL_GETFLAGS as u32, 4, 0)[4..].to_vec(),
                    _ => hdr16(0, 0, n, 0, 0)[4..].to_vec(),
                };
                let len = (4 + body.len()) as u16;
                Part {
                    ty,
                    clen: if more { len | _IO_COMBINE_FLAG } else { len },
                    body,
                }
            }),
        // Lies.
        (io_types(), lying_u16(), bytes(40)).prop_map(|(ty, clen, body)| Part { ty, clen, body }),
    ]
}

fn attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        3 => (prop::option::of(io_types()), prop_oneof![
                4 => bytes(3),
                4 => prop::collection::vec(any::<u8>(), 4..=64),
                2 => prop::collection::vec(any::<u8>(), 200..=300),
                1 => prop::collection::vec(any::<u8>(), 4000..=4200),
            ]).prop_map(|(ty, bytes)| Attack::Raw { ty, bytes }),
        3 => (prop::sample::select(vec![_IO_READ, _IO_READ64]), combine_len(), lying_u32(), xtypes(), lying_u32(), bytes(24))
            .prop_map(|(ty, clen, nbytes, xtype, hi, tail)| Attack::Read { ty, clen, nbytes, xtype, hi, tail }),
        3 => (prop::sample::select(vec![_IO_WRITE, _IO_WRITE64]), combine_len(), lying_u32(), xtypes(), lying_u32(), bytes(300))
            .prop_map(|(ty, clen, nbytes, xtype, hi, data)| Attack::Write { ty, clen, nbytes, xtype, hi, data }),
        3 => (combine_len(), prop_oneof![3 => -1i16..=3, 1 => any::<i16>()], offsets())
            .prop_map(|(clen, whence, offset)| Attack::Lseek { clen, whence, offset }),
        3 => (combine_len(), prop_oneof![
                prop::sample::select(vec![DCMD_ALL_GETFLAGS, DCMD_ALL_SETFLAGS, DCMD_ALL_GETMOUNTFLAGS,
                    DCMD_ALL_FADVISE, DCMD_GET, DCMD_SET, dion(_DCMD_MISC, 99), 0, -1]),
                any::<i32>(),
            ], lying_u32(), bytes(40))
            .prop_map(|(clen, dcmd, nbytes, data)| Attack::Devctl { clen, dcmd, nbytes, data }),
        1 => (lying_u16(), any::<u32>()).prop_map(|(clen, format)| Attack::Stat { clen, format }),
        1 => (any::<i32>(), any::<i32>()).prop_map(|(action, flags)| Attack::Notify { action, flags }),
        4 => connect_attack(),
        3 => combine_connect_attack(),
        3 => prop::collection::vec(part(), 1..6).prop_map(|parts| Attack::Combine { parts }),
        1 => (prop_oneof![3 => Just(4u16), 1 => lying_u16()], 1u8..4).prop_map(|(clen, times)| Attack::Close { clen, times }),
        2 => (prop::sample::select(vec![
                0u16, 1, 0xff, 0x103, 0x105, 0x107, 0x108, 0x10a, 0x10b, 0x10c, 0x10d, 0x10e,
                0x10f, 0x110, 0x111, 0x112, 0x113, 0x114, 0x115, 0x117, 0x118, 0x119, 0x11a,
                0x11b, 0x11c, 0x11d, 0x120, 0x121, 0x122, 0x150, 0x1fe, 0x1ff, 0x200, 0x201,
                0x8000, 0xffff,
            ]), 0usize..48).prop_map(|(ty, len)| Attack::Unknown { ty, len }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        attack(),
        any::<bool>(),
        prop_oneof![4 => Just(None), 1 => (0usize..48).prop_map(Some)],
        prop_oneof![4 => Just(vec![]), 1 => prop::collection::vec(1usize..5, 1..40)],
        prop_oneof![3 => Just(256usize), 1 => 0usize..16, 1 => Just(4096usize)],
    )
        .prop_map(|(attack, bound, cut, split, rlen)| Case {
            attack,
            bound,
            cut,
            split,
            rlen,
        })
}

/// `m` cut into parts of the sizes in `split` (the rest in one last part).
fn split_parts(m: &[u8], split: &[usize]) -> Vec<Vec<u8>> {
    if split.is_empty() {
        return vec![m.to_vec()];
    }
    let mut out = Vec::new();
    let mut at = 0;
    for &s in split {
        if at >= m.len() {
            break;
        }
        let end = (at + s).min(m.len());
        out.push(m[at..end].to_vec());
        at = end;
    }
    if at < m.len() {
        out.push(m[at..].to_vec());
    }
    out
}

// ---------------------------------------------------------------- the oracle

/// What QNX's layer answers where it is fully determined by the message (None: any reply or
/// an [`allowed_errno`]).
fn oracle(case: &Case, msg: &[u8], first: bool, dev_size: i64) -> Option<Result<(), Errno>> {
    let len = msg.len();
    if len < 2 {
        return Some(Err(Errno::EINVAL));
    }
    let ty = u16::from_ne_bytes([msg[0], msg[1]]);
    if !(_IO_BASE..=_IO_MAX).contains(&ty) {
        return Some(Err(Errno::ENOSYS));
    }
    if ty == _IO_CONNECT {
        return None;
    }
    let bound = case.bound && first;
    if !bound {
        // No binding: EBADF, whatever the message (the attack's own connect did not run).
        return if case.bound {
            None
        } else {
            Some(Err(Errno::EBADF))
        };
    }
    if len < 4 {
        return Some(Err(Errno::EBADMSG));
    }
    let clen = u16::from_ne_bytes([msg[2], msg[3]]);
    if clen & _IO_COMBINE_FLAG != 0 {
        return None;
    }
    match (&case.attack, ty) {
        (Attack::Unknown { .. }, _) => Some(Err(Errno::ENOSYS)),
        (Attack::Lseek { whence, offset, .. }, _IO_LSEEK) if len >= 16 => {
            let base = match i32::from(*whence) {
                libc::SEEK_SET | libc::SEEK_CUR => 0,
                libc::SEEK_END => dev_size,
                _ => return Some(Err(Errno::EINVAL)),
            };
            Some(match base.checked_add(*offset as i64) {
                None => Err(Errno::EOVERFLOW),
                Some(n) if n < 0 => Err(Errno::EINVAL),
                Some(_) => Ok(()),
            })
        }
        (Attack::Lseek { .. }, _IO_LSEEK) => Some(Err(Errno::EBADMSG)),
        (Attack::Stat { .. }, _IO_STAT) => Some(if len >= 8 {
            Ok(())
        } else {
            Err(Errno::EBADMSG)
        }),
        (Attack::Notify { .. }, _IO_NOTIFY) => Some(Err(Errno::ENOSYS)),
        _ => None,
    }
}

/// Runs one case on the rig and checks every property.
fn run_case(rig: &mut Rig, case: &Case, tag: u64) -> Result<(), String> {
    let dev_size = rig.dev.attr.fields().nbytes;
    let coid = if case.bound {
        rig.open()?
    } else {
        rig.raw_coid()?
    };
    let mut msgs = case.attack.messages();
    if let Some(c) = case.cut {
        for m in &mut msgs {
            m.truncate(c);
        }
    }
    let mut results = Vec::new();
    for (i, m) in msgs.iter().enumerate() {
        let parts = split_parts(m, &case.split);
        let sent = rig.send("the attack", coid, parts, case.rlen)?;
        let p = rig.panics();
        if !p.is_empty() {
            return Err(format!("server panicked: {p:?}"));
        }
        match &sent.res {
            Ok(_) => {}
            Err(e) if allowed_errno(*e) => {}
            Err(e) => return Err(format!("message {i}: unexpected errno {e:?}")),
        }
        let first_on_binding = match &case.attack {
            // The first close unbinds: the next are on no binding.
            Attack::Close { .. } => i == 0,
            _ => true,
        };
        if rig.flavor == Flavor::Device {
            if let Some(want) = oracle(case, m, first_on_binding, dev_size) {
                let got = sent.res.map(|_| ());
                if got != want {
                    return Err(format!(
                        "message {i}: answered {:?}, QNX's layer answers {want:?}",
                        sent.res
                    ));
                }
            }
        }
        results.push(sent.res);
    }
    if std::env::var_os("FUZZ_TRACE").is_some() {
        let kind = format!("{:?}", case.attack);
        let kind = kind.split([' ', '{']).next().unwrap_or("").to_string();
        eprintln!("case {tag}: {kind} bound={} -> {results:?}", case.bound);
    }
    rig.close(coid)?;
    rig.check_all(tag)
}

/// `n` cases, times `FUZZ_SCALE` (a longer hunt: `FUZZ_SCALE=20 cargo test ...`).
fn cases(n: u32) -> u32 {
    let scale = std::env::var("FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    n.saturating_mul(scale.max(1))
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..PtConfig::default()
    })
}

fn fuzz(flavor: Flavor, cases: u32) {
    // A failing case leaves its rig behind (a fresh one for the next), so that shrinking
    // sees each candidate on a healthy server.
    let rig: std::cell::RefCell<Option<Rig>> = std::cell::RefCell::new(None);
    let tag = std::cell::Cell::new(0u64);
    let failures: std::cell::RefCell<Vec<String>> = std::cell::RefCell::new(Vec::new());
    let r = runner(cases).run(&case(), |c| {
        tag.set(tag.get() + 1);
        let mut slot = rig.borrow_mut();
        let r = slot.get_or_insert_with(|| Rig::new(flavor));
        match run_case(r, &c, tag.get()) {
            Ok(()) => Ok(()),
            Err(e) => {
                *slot = None;
                failures.borrow_mut().push(e.clone());
                Err(TestCaseError::fail(e))
            }
        }
    });
    if let Err(e) = r {
        let f = failures.borrow();
        panic!("{e}\nfirst failure seen: {:?}", f.first());
    }
}

// ===================================================================== fuzz properties

#[test]
fn fuzz_malformed_messages_against_a_device() {
    fuzz(Flavor::Device, cases(4000));
}

#[test]
fn fuzz_malformed_messages_against_the_iofunc_defaults() {
    fuzz(Flavor::Defaults, cases(1500));
}

// ===================================================================== hand-written cases

/// Sends `msg` on a fresh connection that opened nothing; returns what it got.
fn send_unbound(rig: &mut Rig, msg: Vec<u8>, rlen: usize) -> Sent {
    let coid = rig.raw_coid().unwrap();
    let s = rig.send("send", coid, vec![msg], rlen).unwrap();
    rig.close(coid).unwrap();
    s
}

/// Sends `msgs` one after another on a fresh fd; returns what each got.
fn send_bound(rig: &mut Rig, msgs: Vec<Vec<u8>>, rlen: usize) -> Vec<Sent> {
    let fd = rig.open().unwrap();
    let out = msgs
        .into_iter()
        .map(|m| rig.send("send", fd, vec![m], rlen).unwrap())
        .collect();
    rig.close(fd).unwrap();
    out
}

fn assert_healthy(rig: &mut Rig) {
    rig.check_all(0xfeed).unwrap();
}

/// An `_IO_CONNECT` (open) whose `ioflag` is 0x8000_0000 panicked the server thread in
/// `oflag_from_ioflag` (`(io - 1)` overflowed i32) inside `iofunc_open`, with the attribute's
/// lock held (fixed: wrapping). QNX's `iofunc_open` computes the same expression in C (wrapping) and answers
/// normally (an open with no access bits: EOK, or a documented errno).
#[test]
fn connect_with_ioflag_high_bit_is_answered_not_a_panic() {
    let mut rig = Rig::new(Flavor::Device);
    let mut h = connect_hdr(0);
    h.ioflag = 0x8000_0000;
    let s = send_unbound(&mut rig, connect_msg(&h, b"\0", b""), 0);
    assert_eq!(rig.panics(), Vec::<String>::new(), "the server panicked");
    assert!(
        s.res.is_ok() || allowed_errno(s.res.unwrap_err()),
        "answered {:?}",
        s.res
    );
    assert_healthy(&mut rig);
}

/// Message types nobody handles: ENOSYS on an fd (also the reserved slots' types, which are
/// never sent), EBADF on a connection that opened nothing, ENOSYS from the dispatch layer
/// outside `_IO_BASE..=_IO_MAX`, EINVAL a message shorter than its type.
#[test]
fn unknown_types_are_enosys_and_unbound_ones_ebadf() {
    let mut rig = Rig::new(Flavor::Device);
    let inside = [
        0x103u16, 0x105, 0x107, 0x108, 0x10a, 0x10b, 0x10c, 0x10d, 0x10e, 0x10f, 0x110, 0x111,
        0x112, 0x113, 0x114, 0x115, 0x117, 0x118, 0x119, 0x11a, 0x11b, 0x11c, 0x11d, 0x120, 0x121,
        0x122, 0x150, 0x1fe, 0x1ff,
    ];
    for ty in inside {
        let mut m = hdr16(ty, 16, 0, 0, 0);
        let got = send_bound(&mut rig, vec![m.clone()], 64);
        assert_eq!(got[0].res, Err(Errno::ENOSYS), "type {ty:#x} on an fd");
        assert_eq!(
            send_unbound(&mut rig, m.clone(), 64).res,
            Err(Errno::EBADF),
            "type {ty:#x} unbound"
        );
        m.truncate(3);
        assert_eq!(
            send_bound(&mut rig, vec![m], 64)[0].res,
            Err(Errno::EBADMSG),
            "type {ty:#x}, 3 bytes"
        );
    }
    for ty in [0u16, 1, 0xff, 0x200, 0x201, 0x7fff, 0x8000, 0xffff] {
        let m = hdr16(ty, 16, 0, 0, 0);
        assert_eq!(
            send_bound(&mut rig, vec![m.clone()], 64)[0].res,
            Err(Errno::ENOSYS),
            "type {ty:#x}"
        );
        assert_eq!(
            send_unbound(&mut rig, m, 64).res,
            Err(Errno::ENOSYS),
            "type {ty:#x}"
        );
    }
    for len in [0usize, 1] {
        assert_eq!(
            send_bound(&mut rig, vec![vec![0x01; len]], 64)[0].res,
            Err(Errno::EINVAL)
        );
        assert_eq!(
            send_unbound(&mut rig, vec![0x01; len], 64).res,
            Err(Errno::EINVAL)
        );
    }
    assert_healthy(&mut rig);
}

/// `_IO_CLOSE` on a connection that opened nothing is EBADF; a second close of an fd is
/// EBADF and so is every later message on it; nothing is closed twice.
#[test]
fn closes_of_nothing_and_double_closes() {
    let mut rig = Rig::new(Flavor::Device);
    assert_eq!(
        send_unbound(&mut rig, close_msg(4), 0).res,
        Err(Errno::EBADF)
    );
    let got = send_bound(
        &mut rig,
        vec![
            close_msg(4),
            close_msg(4),
            hdr16(_IO_READ, 16, 4, 0, 0),
            close_msg(4),
        ],
        16,
    );
    let res: Vec<_> = got.iter().map(|s| s.res).collect();
    assert_eq!(
        res,
        [
            Ok(0),
            Err(Errno::EBADF),
            Err(Errno::EBADF),
            Err(Errno::EBADF)
        ]
    );
    // A close part in the middle of a combine message, then a read: the read finds no binding
    // (the OCB closes once, after the message).
    let mut m = close_msg(4 | _IO_COMBINE_FLAG);
    m.extend_from_slice(&hdr16(_IO_STAT, 8, 0, 0, 0)[..8]);
    let got = send_bound(&mut rig, vec![m, close_msg(4)], 256);
    assert!(
        got[0].res.is_ok() || allowed_errno(got[0].res.unwrap_err()),
        "{:?}",
        got[0].res
    );
    assert_eq!(got[1].res, Err(Errno::EBADF));
    assert_healthy(&mut rig);
}

/// `iofunc_lseek_default`'s documented answers to lying whences and offsets.
#[test]
fn lseek_with_bad_whence_and_overflowing_offsets() {
    let mut rig = Rig::new(Flavor::Device);
    rig.run("seed", || {
        let fd = io::open(PATH, libc::O_RDWR, 0).unwrap();
        io::write(fd, b"0123456789").unwrap();
        io::close(fd).unwrap();
    })
    .unwrap();
    let cases: [(i16, i64, Result<i64, Errno>); 12] = [
        (3, 0, Err(Errno::EINVAL)),
        (-1, 0, Err(Errno::EINVAL)),
        (i16::MAX, 0, Err(Errno::EINVAL)),
        (i16::MIN, 0, Err(Errno::EINVAL)),
        (0, -1, Err(Errno::EINVAL)),
        (0, i64::MIN, Err(Errno::EINVAL)),
        (0, i64::MAX, Ok(i64::MAX)),
        (1, -1, Err(Errno::EINVAL)),
        (2, i64::MAX, Err(Errno::EOVERFLOW)),
        (2, -10, Ok(0)),
        (2, -11, Err(Errno::EINVAL)),
        (2, i64::MIN, Err(Errno::EINVAL)),
    ];
    for (whence, off, want) in cases {
        let got = send_bound(&mut rig, vec![lseek_msg(16, whence, off as u64)], 8);
        let got = got[0]
            .res
            .map(|_| i64::from_ne_bytes(got[0].reply[..8].try_into().unwrap()));
        assert_eq!(got, want, "lseek({off}, whence {whence})");
    }
    // Cut short: EBADMSG, not a seek made of zeros.
    for len in [4usize, 6, 8, 15] {
        let mut m = lseek_msg(16, 0, 5);
        m.truncate(len);
        assert_eq!(
            send_bound(&mut rig, vec![m], 8)[0].res,
            Err(Errno::EBADMSG),
            "{len} bytes"
        );
    }
    assert_healthy(&mut rig);
}

/// Reads and writes whose `nbytes` lie: the read answers what there is, the write takes
/// what came (the device's handler), the defaults do what QNX's do; `_IO_READ64` /
/// `_IO_WRITE64` counts beyond 4 GiB reach the handlers whole.
#[test]
fn read_and_write_with_lying_counts() {
    let mut rig = Rig::new(Flavor::Device);
    let mut w = hdr16(_IO_WRITE, 16, u32::MAX, 0, 0);
    w.extend_from_slice(b"abcdef");
    let mut w64 = hdr16(_IO_WRITE64, 16, 0, 0, 0xffff_ffff);
    w64.extend_from_slice(b"gh");
    let got = send_bound(
        &mut rig,
        vec![
            w,
            w64,
            lseek_msg(16, 0, 0),
            hdr16(_IO_READ, 16, u32::MAX, 0, 0),
            hdr16(_IO_READ64, 16, 0, 0, u32::MAX),
            hdr16(_IO_READ, 16, 3, 0x77, 0),
            hdr16(_IO_READ, 16, 3, _IO_XTYPE_OFFSET, 0),
        ],
        64,
    );
    let res: Vec<_> = got.iter().map(|s| s.res).collect();
    assert_eq!(
        res,
        [
            Ok(6),
            Ok(2),
            Ok(0),
            Ok(8),
            Ok(0),
            Err(Errno::ENOSYS),
            Err(Errno::EBADMSG)
        ]
    );
    assert_eq!(&got[3].reply[..8], b"abcdefgh");
    assert_healthy(&mut rig);

    let mut rig = Rig::new(Flavor::Defaults);
    let got = send_bound(
        &mut rig,
        vec![
            hdr16(_IO_WRITE, 16, u32::MAX, 0, 0),
            hdr16(_IO_READ, 16, u32::MAX, 0, 0),
            hdr16(_IO_WRITE, 16, 1, _IO_XTYPE_OFFSET, 0),
            hdr16(_IO_READ, 16, 1, 9, 0),
        ],
        64,
    );
    let res: Vec<_> = got.iter().map(|s| s.res).collect();
    // iofunc_write_default claims the count asked (QNX's /dev/null rule).
    assert_eq!(
        res,
        [
            Ok(i64::from(u32::MAX)),
            Ok(0),
            Err(Errno::ENOSYS),
            Err(Errno::ENOSYS)
        ]
    );
    assert_healthy(&mut rig);
}

/// `_IO_CONNECT`s that lie: each gets an answer, none leaves a binding or an open count
/// behind once its connection is closed, and a second open on a bound connection is EBUSY.
#[test]
fn connects_with_lying_fields() {
    let mut rig = Rig::new(Flavor::Device);
    let base = connect_hdr(0);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut h = base;
    h.path_len = 200;
    cases.push((
        "path_len past the message".into(),
        connect_msg(&h, b"\0", b""),
    ));
    h.path_len = u16::MAX;
    cases.push(("path_len 65535".into(), connect_msg(&h, b"\0", b"")));
    let mut h = base;
    h.path_len = 4;
    cases.push(("path without NUL".into(), connect_msg(&h, b"abcd", b"")));
    h.path_len = 0;
    cases.push(("path_len 0".into(), connect_msg(&h, b"", b"")));
    let mut h = base;
    h.extra_len = u16::MAX;
    cases.push(("extra_len lie".into(), connect_msg(&h, b"\0", b"xy")));
    for sub in (0u16..=12).chain([0x7fff, 0xffff]) {
        let mut h = base;
        h.subtype = sub;
        cases.push((format!("subtype {sub}"), connect_msg(&h, b"\0", b"")));
    }
    for ft in [1u32, 12, 0xffff_ffff] {
        let mut h = base;
        h.file_type = ft;
        cases.push((format!("file_type {ft}"), connect_msg(&h, b"\0", b"")));
    }
    for (io, acc) in [
        (0u32, 0u16),
        (3, 0),
        (0x7fff_ffff, 0xffff),
        (3, 0xffff),
        (1 | libc::O_SYNC as u32, 3),
    ] {
        let mut h = base;
        (h.ioflag, h.access) = (io, acc);
        cases.push((
            format!("ioflag {io:#x} access {acc:#x}"),
            connect_msg(&h, b"\0", b""),
        ));
    }
    for handle in [1u32, 7, 0x7fff_ffff, u32::MAX] {
        let h = connect_hdr(handle);
        cases.push((format!("handle {handle:#x}"), connect_msg(&h, b"\0", b"")));
    }
    let mut h = base;
    h.sflag = 0xffff;
    h.mode = u32::MAX;
    h.eflag = 0xff;
    h.extra_type = 0xff;
    cases.push(("every flag".into(), connect_msg(&h, b"\0", b"")));
    for cut in [2usize, 4, 20, 39] {
        let mut m = connect_msg(&base, b"\0", b"");
        m.truncate(cut);
        cases.push((format!("cut to {cut}"), m));
    }
    for (what, m) in cases {
        let s = send_unbound(&mut rig, m, 128);
        assert!(
            s.res.is_ok() || allowed_errno(s.res.unwrap_err()),
            "{what}: {:?}",
            s.res
        );
        assert_eq!(rig.panics(), Vec::<String>::new(), "{what}");
        rig.check_clean().unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    // Known answers.
    let mut h = base;
    h.handle = 5;
    assert_eq!(
        send_unbound(&mut rig, connect_msg(&h, b"\0", b""), 0).res,
        Err(Errno::ENOENT)
    );
    let mut h = base;
    h.subtype = 0xffff;
    assert_eq!(
        send_unbound(&mut rig, connect_msg(&h, b"\0", b""), 0).res,
        Err(Errno::ENOSYS)
    );
    let mut m = connect_msg(&base, b"\0", b"");
    m.truncate(39);
    assert!(matches!(
        send_unbound(&mut rig, m, 0).res,
        Err(Errno::EINVAL | Errno::EBADMSG)
    ));
    // An open on a connection bound already: EBUSY, and the first binding still works.
    let coid = rig.raw_coid().unwrap();
    let open = connect_msg(&base, b"\0", b"");
    let a = rig.send("open", coid, vec![open.clone()], 0).unwrap();
    let b = rig.send("open again", coid, vec![open], 0).unwrap();
    let st = rig
        .send(
            "stat",
            coid,
            vec![hdr16(_IO_STAT, 8, 3, 0, 0)[..8].to_vec()],
            256,
        )
        .unwrap();
    assert_eq!((a.res, b.res, st.res), (Ok(0), Err(Errno::EBUSY), Ok(0)));
    rig.close(coid).unwrap();
    assert_healthy(&mut rig);
}

/// Combine messages whose `combine_len` points outside the message, at itself, or below a
/// header: EBADMSG, with nothing run twice and nothing left bound; a well-formed chain works.
#[test]
fn combine_messages_with_lying_lengths() {
    let mut rig = Rig::new(Flavor::Device);
    rig.run("seed", || {
        let fd = io::open(PATH, libc::O_RDWR, 0).unwrap();
        io::write(fd, b"0123456789").unwrap();
        io::close(fd).unwrap();
    })
    .unwrap();
    let read4 = hdr16(_IO_READ, 16, 4, 0, 0);
    let chain = |first: Vec<u8>| {
        let mut m = first;
        m.extend_from_slice(&read4);
        m
    };
    for clen in [0u16, 1, 2, 3] {
        let m = chain(lseek_msg(clen | _IO_COMBINE_FLAG, 0, 3));
        assert_eq!(
            send_bound(&mut rig, vec![m], 16)[0].res,
            Err(Errno::EBADMSG),
            "clen {clen}"
        );
    }
    for clen in [32u16, 33, 100, 0x7fff] {
        let m = chain(lseek_msg(clen | _IO_COMBINE_FLAG, 0, 3));
        assert_eq!(
            send_bound(&mut rig, vec![m], 16)[0].res,
            Err(Errno::EBADMSG),
            "clen {clen}"
        );
    }
    // The last part says another follows.
    let m = chain(lseek_msg(16 | _IO_COMBINE_FLAG, 0, 3));
    let mut m2 = m.clone();
    m2[16 + 2..16 + 4].copy_from_slice(&(16 | _IO_COMBINE_FLAG).to_ne_bytes());
    assert_eq!(
        send_bound(&mut rig, vec![m2], 16)[0].res,
        Err(Errno::EBADMSG)
    );
    // Well formed: seek to 3, read 4.
    let got = send_bound(&mut rig, vec![m], 16);
    assert_eq!(got[0].res, Ok(4));
    assert_eq!(&got[0].reply[..4], b"3456");
    // Many tiny parts (4-byte closes chained): the first unbinds, the rest find nothing.
    let mut m = Vec::new();
    for _ in 0..50 {
        m.extend_from_slice(&close_msg(4 | _IO_COMBINE_FLAG));
    }
    m.extend_from_slice(&close_msg(4));
    let got = send_bound(&mut rig, vec![m], 16);
    assert!(got[0].res.is_ok() || allowed_errno(got[0].res.unwrap_err()));
    assert_healthy(&mut rig);
}

/// A well-formed combine message longer than the server's receive buffer (a 300-byte write
/// flagged as followed by an lseek): QNX's layer fetches the parts beyond the buffer
/// (`resmgr_msgget`/MsgRead at `ctp->offset`); this one refuses the message with EBADMSG, as
/// deviations.md says, having done none of it, and serves on.
#[test]
fn a_combine_message_longer_than_the_receive_buffer_is_refused_whole() {
    let mut rig = Rig::new(Flavor::Device);
    let mut big = hdr16(_IO_WRITE, (16 + 300) | _IO_COMBINE_FLAG, 300, 0, 0);
    big.extend_from_slice(&[b'x'; 300]);
    big.extend_from_slice(&lseek_msg(16, 0, 7));
    let got = send_bound(&mut rig, vec![big], 8);
    assert_eq!(got[0].res, Err(Errno::EBADMSG));
    assert_eq!(
        rig.dev.data.lock().unwrap().len(),
        0,
        "no part of it was done"
    );
    assert_healthy(&mut rig);
}

/// Messages of 64 KiB and more: random bytes (of every type prefix) and a well-formed write of
/// 70000 bytes, whose data the handler reads past the receive buffer.
#[test]
fn messages_of_64_kib_and_more() {
    let mut rig = Rig::new(Flavor::Device);
    let mut seed = 0x1234_5678u32;
    let mut rnd = || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for ty in [
        None,
        Some(_IO_CONNECT),
        Some(_IO_WRITE),
        Some(_IO_READ),
        Some(_IO_DEVCTL),
        Some(0x1ff),
    ] {
        for len in [65535usize, 65536, 65537, 70000] {
            let mut m: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            if let Some(t) = ty {
                m[..2].copy_from_slice(&t.to_ne_bytes());
            }
            for bound in [false, true] {
                let s = if bound {
                    send_bound(&mut rig, vec![m.clone()], 512).remove(0)
                } else {
                    send_unbound(&mut rig, m.clone(), 512)
                };
                assert!(
                    s.res.is_ok() || allowed_errno(s.res.unwrap_err()),
                    "{ty:?} {len}: {:?}",
                    s.res
                );
                assert_eq!(rig.panics(), Vec::<String>::new());
            }
        }
    }
    let data: Vec<u8> = (0..70000u32).map(|i| (i % 251) as u8).collect();
    let mut w = hdr16(_IO_WRITE, 16, data.len() as u32, 0, 0);
    w.extend_from_slice(&data);
    rig.dev.data.lock().unwrap().clear();
    let got = send_bound(
        &mut rig,
        vec![w, lseek_msg(16, 0, 0), hdr16(_IO_READ, 16, 70000, 0, 0)],
        70000,
    );
    assert_eq!(got[0].res, Ok(70000));
    assert_eq!(got[2].res, Ok(70000));
    assert_eq!(got[2].reply, data);
    assert_healthy(&mut rig);
}

/// The client's reply buffer smaller than the answer (0 bytes for a stat, 3 for a read, 2 for
/// an lseek's 8): the client gets the status and what fits; the server goes on.
#[test]
fn reply_buffers_too_small_for_the_answer() {
    let mut rig = Rig::new(Flavor::Device);
    let mut w = hdr16(_IO_WRITE, 16, 10, 0, 0);
    w.extend_from_slice(b"0123456789");
    let fd = rig.open().unwrap();
    for (m, rlen) in [
        (w, 0usize),
        (lseek_msg(16, 0, 2), 2),
        (hdr16(_IO_READ, 16, 8, 0, 0), 3),
        (hdr16(_IO_STAT, 8, 3, 0, 0)[..8].to_vec(), 0),
        (hdr16(_IO_DEVCTL, 16, DCMD_ALL_GETFLAGS as u32, 4, 0), 1),
        (hdr16(_IO_DEVCTL, 16, DCMD_GET as u32, 4, 0), 0),
    ] {
        let s = rig.send("small reply", fd, vec![m], rlen).unwrap();
        assert!(s.res.is_ok(), "{:?}", s.res);
    }
    let m = [
        lseek_msg(16 | _IO_COMBINE_FLAG, 0, 2),
        hdr16(_IO_READ, 16, 8, 0, 0),
    ]
    .concat();
    let s = rig.send("read", fd, vec![m], 3).unwrap();
    assert_eq!((s.res, &s.reply[..]), (Ok(8), &b"234"[..]));
    rig.close(fd).unwrap();
    assert_healthy(&mut rig);
}

/// A client thread SEND-blocked on a server busy with another request has its connection
/// detached by another thread of its process: its send fails (EBADF) instead of waiting, the
/// server never sees the message, and goes on serving; nothing is left bound.
#[test]
fn detach_while_send_blocked() {
    let mut rig = Rig::new(Flavor::Device);
    let busy = rig.open().unwrap();
    let victim = rig.open().unwrap();
    rig.dev.gate.set_open(false);
    // The one server thread stalls in a devctl.
    let (tx, stalled) = mpsc::channel();
    rig.client
        .spawn(move || {
            let s = send_parts(busy, &[hdr16(_IO_DEVCTL, 16, DCMD_STALL as u32, 0, 0)], 16);
            let _ = tx.send(s.res);
        })
        .unwrap();
    assert!(
        rig.dev.gate.entered(),
        "the server took the stalling devctl"
    );
    let (tx, sent) = mpsc::channel();
    let h = rig
        .client
        .spawn(move || {
            let _ = tx.send(gettid().unwrap());
            let s = send_parts(victim, &[hdr16(_IO_READ, 16, 4, 0, 0)], 16);
            s.res
        })
        .unwrap();
    let tid = sent.recv_timeout(HANG).unwrap();
    let cpid = rig.client.pid();
    wait_state(&rig.k, cpid, tid, |s| {
        matches!(s, userlib::ThreadState::Send { .. })
    });
    rig.run("detach", move || connect_detach(victim))
        .unwrap()
        .unwrap();
    let deadline = Instant::now() + HANG;
    while !h.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        h.is_finished(),
        "the SEND-blocked send did not end when its coid was detached"
    );
    assert_eq!(h.join().unwrap(), Err(Errno::EBADF));
    rig.dev.gate.set_open(true);
    assert_eq!(stalled.recv_timeout(HANG).unwrap(), Ok(0));
    // The victim's binding is still there (no _IO_CLOSE, and the process keeps a connection to
    // the channel); the client closes its other fd, its last connection: the disconnect pulse
    // closes the victim's OCB.
    rig.close(busy).unwrap();
    wait_until("the disconnect closed the detached fd's OCB", || {
        resmgr_counts(&rig.dpp) == (0, 0)
    });
    assert_healthy(&mut rig);
}

/// A client process dies while REPLY-blocked on a request the server is handling (and with
/// other fds open, and a second thread SEND-blocked behind it): the handler's reply fails, the
/// disconnect closes every OCB of the dead client, and the server goes on.
#[test]
fn client_dies_mid_request() {
    let mut rig = Rig::new(Flavor::Device);
    let k = rig.k.clone();
    let doomed = process(&k);
    let (spid, chid) = (rig.spid, rig.chid);
    let fds: Vec<i32> = join(
        doomed
            .spawn(move || {
                let mut fds = vec![io::open(PATH, libc::O_RDWR, 0).unwrap()];
                fds.push(io::open(PATH, libc::O_RDONLY, 0).unwrap());
                // A raw connection bound by a hand-made open.
                let c = connect_attach(ND_LOCAL_NODE, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
                let s = send_parts(c, &[connect_msg(&connect_hdr(0), b"\0", b"")], 0);
                assert_eq!(s.res, Ok(0));
                fds.push(c);
                fds
            })
            .unwrap(),
    );
    assert_eq!(resmgr_counts(&rig.dpp), (3, 3));
    rig.dev.gate.set_open(false);
    let fd0 = fds[0];
    doomed
        .spawn(move || {
            send_parts(fd0, &[hdr16(_IO_DEVCTL, 16, DCMD_STALL as u32, 0, 0)], 16);
        })
        .unwrap();
    assert!(rig.dev.gate.entered());
    let fd1 = fds[1];
    doomed
        .spawn(move || {
            send_parts(fd1, &[hdr16(_IO_READ, 16, 4, 0, 0)], 16);
        })
        .unwrap();
    drop(doomed);
    rig.dev.gate.set_open(true);
    wait_until("the dead client's OCBs closed", || {
        resmgr_counts(&rig.dpp) == (0, 0)
    });
    assert_healthy(&mut rig);
}

/// A well-formed session's messages cut into many tiny `MsgSendv` parts get the same answers
/// as the same messages sent whole (the layer sees one message, however the client gathers
/// it); and random bytes in tiny parts never hurt the server.
#[test]
fn fuzz_sendv_of_many_tiny_parts() {
    let rig: std::cell::RefCell<Option<Rig>> = std::cell::RefCell::new(None);
    let r = runner(cases(300)).run(
        &(
            prop::collection::vec(1usize..4, 1..120),
            bytes(64),
            prop::collection::vec(any::<u8>(), 0..200),
        ),
        |(split, payload, junk)| {
            let mut slot = rig.borrow_mut();
            let rig = slot.get_or_insert_with(|| Rig::new(Flavor::Device));
            let mut w = hdr16(_IO_WRITE, 16, payload.len() as u32, 0, 0);
            w.extend_from_slice(&payload);
            let session = vec![
                w,
                lseek_msg(16, 0, 0),
                hdr16(_IO_READ, 16, payload.len() as u32, 0, 0),
                [
                    lseek_msg(16 | _IO_COMBINE_FLAG, 0, 1),
                    hdr16(_IO_READ, 16, 4, 0, 0),
                ]
                .concat(),
                hdr16(_IO_STAT, 8, 3, 0, 0)[..8].to_vec(),
                hdr16(_IO_DEVCTL, 16, DCMD_GET as u32, 4, 0),
                junk.clone(),
            ];
            let mut answers = [Vec::new(), Vec::new()];
            for (i, tiny) in [false, true].into_iter().enumerate() {
                rig.dev.data.lock().unwrap().clear();
                rig.dev.attr.fields().nbytes = 0;
                let fd = rig.open().map_err(TestCaseError::fail)?;
                for m in &session {
                    let parts = if tiny {
                        split_parts(m, &split)
                    } else {
                        vec![m.clone()]
                    };
                    let s = rig
                        .send("session", fd, parts, 256)
                        .map_err(TestCaseError::fail)?;
                    let mut s = s;
                    if m.len() >= 2 && u16::from_ne_bytes([m[0], m[1]]) == _IO_STAT {
                        s.reply.clear(); // times may tick between the two sessions
                    }
                    answers[i].push(s);
                }
                rig.close(fd).map_err(TestCaseError::fail)?;
            }
            prop_assert_eq!(&answers[0], &answers[1]);
            prop_assert_eq!(answers[0][2].res, Ok(payload.len() as i64));
            prop_assert_eq!(&answers[0][2].reply[..payload.len()], &payload[..]);
            rig.check_all(1).map_err(TestCaseError::fail)?;
            Ok(())
        },
    );
    if let Err(e) = r {
        panic!("{e}");
    }
}

/// Pulses a client may send the resource manager's channel (any code 0..=127, any value) are
/// dropped by the dispatch layer; the server goes on.
#[test]
fn client_pulses_are_dropped() {
    let mut rig = Rig::new(Flavor::Device);
    let fd = rig.open().unwrap();
    rig.run("pulses", move || {
        for code in 0..=127i8 {
            for value in [0, -1, i32::MAX, i32::MIN, 0x4000_0001] {
                msg_send_pulse(fd, 10, code, value).unwrap();
            }
        }
    })
    .unwrap();
    let st = rig
        .send(
            "stat",
            fd,
            vec![hdr16(_IO_STAT, 8, 3, 0, 0)[..8].to_vec()],
            256,
        )
        .unwrap();
    assert_eq!(st.res, Ok(0));
    rig.close(fd).unwrap();
    assert_healthy(&mut rig);
}

/// The attribute's open counts (`count`, `rcount`, `wcount`, `u16` as QNX's) overflowed at
/// the 65536th open OCB: `iofunc_ocb_attach` added without a check (a panic in a debug build,
/// a wrap in a release one, and the share-mode checks and last-close bits then lie; found
/// with 65536 opens from two client processes). An open one more than a count holds is
/// refused with ENFILE now, as when no OCB can be had, and counts nothing. (The counts start
/// one below the top here, instead of after 65534 opens.)
#[test]
fn an_open_past_the_top_of_the_open_counts_is_enfile_not_a_wrap() {
    let mut rig = Rig::new(Flavor::Device);
    let top = u16::MAX - 1;
    {
        let mut f = rig.dev.attr.fields();
        (f.count, f.rcount, f.wcount) = (top, top, top);
    }
    let fd = rig.open().expect("the open that reaches the top");
    {
        let f = *rig.dev.attr.fields();
        assert_eq!(
            (f.count, f.rcount, f.wcount),
            (u16::MAX, u16::MAX, u16::MAX)
        );
    }
    let err = rig.open().expect_err("an open past the top");
    assert!(err.contains("ENFILE"), "{err}");
    assert_eq!(rig.panics(), Vec::<String>::new());
    {
        let f = *rig.dev.attr.fields();
        assert_eq!(
            (f.count, f.rcount, f.wcount),
            (u16::MAX, u16::MAX, u16::MAX),
            "the refused open counted nothing"
        );
    }
    rig.close(fd).unwrap();
    {
        let mut f = rig.dev.attr.fields();
        assert_eq!((f.count, f.rcount, f.wcount), (top, top, top));
        (f.count, f.rcount, f.wcount) = (0, 0, 0);
    }
    assert_healthy(&mut rig);
}

/// A thread-pool server under clients whose threads share fds and race: reads, writes,
/// malformed messages, closes of an fd another thread is using, combine connects, and whole
/// client processes dying with fds open and requests in flight. Afterwards every OCB is
/// closed exactly once, the counts are back to zero and the server serves.
#[test]
fn a_pool_server_under_racing_and_dying_clients() {
    use userlib::thread_pool::*;
    let k = kernel();
    let sp = process(&k);
    let dev = Arc::new(Dev {
        attr: Arc::new(IofuncAttr::new(libc::S_IFCHR | 0o666)),
        data: Mutex::new(Vec::new()),
        opened: AtomicUsize::new(0),
        closed: AtomicUsize::new(0),
        gate: Gate::default(),
    });
    let d = Arc::clone(&dev);
    let (dpp, pool) = run_in(&sp, move || {
        let dpp = dispatch_create().unwrap();
        let (connect, io) = funcs(&d, Flavor::Device);
        resmgr_attach(
            &dpp,
            None,
            Some(PATH),
            _FTYPE_ANY,
            0,
            &connect,
            &io,
            Arc::clone(&d.attr),
        )
        .unwrap();
        let mut a = ThreadPoolAttr::new(DispatchPool::new(&dpp));
        (a.lo_water, a.hi_water, a.increment, a.maximum) = (2, 4, 1, 6);
        let pool = thread_pool_create(a, 0).unwrap();
        thread_pool_start(&pool).unwrap();
        (dpp, pool)
    });
    for round in 0..6u32 {
        let clients: Vec<Process> = (0..3).map(|_| process(&k)).collect();
        let mut hs = Vec::new();
        for (ci, c) in clients.iter().enumerate() {
            let fds: Vec<i32> = join(
                c.spawn(|| {
                    (0..3)
                        .map(|_| io::open(PATH, libc::O_RDWR, 0).unwrap())
                        .collect()
                })
                .unwrap(),
            );
            for t in 0..2u32 {
                let fds = fds.clone();
                let mut x = round * 7919 + ci as u32 * 104_729 + t * 13;
                hs.push(
                    c.spawn(move || {
                        for i in 0..150u32 {
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
                            let fd = fds[(x % 3) as usize];
                            let m = match (x >> 3) % 8 {
                                0 => close_msg(4),
                                1 => hdr16(_IO_READ, 16, 64, 0, 0),
                                2 => [hdr16(_IO_WRITE, 16, 4, 0, 0), b"abcd".to_vec()].concat(),
                                3 => [
                                    lseek_msg(16 | _IO_COMBINE_FLAG, 0, 0),
                                    hdr16(_IO_READ, 16, 8, 0, 0),
                                ]
                                .concat(),
                                4 => {
                                    let mut h = connect_hdr(0);
                                    h.subtype = _IO_CONNECT_COMBINE_CLOSE;
                                    h.extra_len = 8;
                                    connect_msg(&h, b"\0", &hdr16(_IO_STAT, 8, 3, 0, 0)[..8])
                                }
                                5 => connect_msg(&connect_hdr(0), b"\0", b""),
                                6 => hdr16(0x1ff, (i % 40) as u16 | _IO_COMBINE_FLAG, x, x, x),
                                _ => x.to_ne_bytes()[..(x % 5) as usize].to_vec(),
                            };
                            let _ = send_parts(fd, &[m], 64);
                        }
                    })
                    .unwrap(),
                );
            }
        }
        // Half the rounds, the clients die while their threads are still sending.
        if round % 2 == 1 {
            std::thread::sleep(Duration::from_millis(2));
            drop(clients);
            for h in hs {
                join(h);
            }
        } else {
            for h in hs {
                join(h);
            }
            drop(clients);
        }
    }
    wait_until("every OCB closed", || resmgr_counts(&dpp) == (0, 0));
    wait_until("every open counted closed", || {
        dev.opened.load(Ordering::SeqCst) == dev.closed.load(Ordering::SeqCst)
    });
    let f = *dev.attr.fields();
    assert_eq!((f.count, f.rcount, f.wcount), (0, 0, 0), "{f:?}");
    let c = process(&k);
    run_in(&c, || {
        let fd = io::open(PATH, libc::O_RDWR, 0).unwrap();
        io::write(fd, b"after").unwrap();
        io::lseek(fd, 0, libc::SEEK_SET).unwrap();
        let mut b = [0u8; 5];
        assert_eq!(io::read(fd, &mut b).unwrap(), 5);
        assert_eq!(&b, b"after");
        io::close(fd).unwrap();
    });
    run_in(&sp, move || thread_pool_destroy(&pool)).unwrap();
}
