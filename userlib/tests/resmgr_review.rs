//! Review tests of the resource-manager engine (`userlib::resmgr::Resmgr`), driven through a
//! test front whose context needs no kernel for the paths exercised: races between threads of
//! a pool handling messages of one connection at once.

use kernel_sim::{KResult, MsgInfo, RcvId};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use userlib::iomsg::*;
use userlib::resmgr::{CoreCtx, Front, Resmgr, _RESMGR_DEFAULT, EOK};
use zerocopy::IntoBytes;

/// What the handlers saw: (message type or slot, OCB).
static LOG: Mutex<Vec<(u16, usize)>> = Mutex::new(Vec::new());
/// The same, with `lock_ocb` and `unlock_ocb`.
static LOCKS: Mutex<Vec<(u16, usize)>> = Mutex::new(Vec::new());

/// The engine of the combine-close test, its OCB, and whether the connection was still bound
/// at each reply.
static COMBINE_CORE: Mutex<Option<Arc<Resmgr<TFront>>>> = Mutex::new(None);
const COMBINE_OCB: usize = 0x3000;
static REPLIED_BOUND: Mutex<Vec<bool>> = Mutex::new(Vec::new());
/// Taken by every test: the statics above are the front's (one per test binary), and a reply
/// made by one test while another has set `COMBINE_CORE` lands in that test's record.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A test context: a receive buffer, and a hook run the first time `set_id` is called (the
/// engine calls it once it has looked the connection's binding up).
struct TCtx {
    rcvid: RcvId,
    info: MsgInfo,
    msg: Vec<u8>,
    status: i64,
    on_set_id: Option<Box<dyn FnOnce() + Send>>,
}

impl TCtx {
    fn new(rcvid: RcvId, scoid: i32, coid: i32, msg: &[u8]) -> TCtx {
        let mut buf = msg.to_vec();
        buf.resize(256, 0);
        TCtx {
            rcvid,
            info: MsgInfo {
                scoid,
                coid,
                msglen: msg.len() as i64,
                srcmsglen: msg.len() as i64,
                ..MsgInfo::default()
            },
            msg: buf,
            status: 0,
            on_set_id: None,
        }
    }
}

impl CoreCtx for TCtx {
    fn rcvid(&self) -> RcvId {
        self.rcvid
    }
    fn set_rcvid(&mut self, rcvid: RcvId) {
        self.rcvid = rcvid;
    }
    fn info(&self) -> MsgInfo {
        self.info
    }
    fn set_info(&mut self, info: MsgInfo) {
        self.info = info;
    }
    fn msg(&self) -> &[u8] {
        &self.msg
    }
    fn set_msg(&mut self, bytes: &[u8]) {
        self.msg[..bytes.len()].copy_from_slice(bytes);
    }
    fn set_id(&mut self, _id: i32) {
        if let Some(f) = self.on_set_id.take() {
            f();
        }
    }
    fn status(&self) -> i64 {
        self.status
    }
    fn set_status(&mut self, status: i64) {
        self.status = status;
    }
    fn set_part(&mut self, _offset: usize, _size: usize) {}
    fn clear_iov(&mut self) {}
    fn copy_reply(&self, _nparts: usize) -> Vec<u8> {
        Vec::new()
    }
    fn reply_copied(&mut self, _status: i64, _bytes: &[u8]) -> KResult<()> {
        self.reply(0)
    }
    fn reply(&mut self, _nparts: usize) -> KResult<()> {
        let core = COMBINE_CORE.lock().unwrap().clone();
        if let Some(core) = core {
            let bound = core.binding(self.info.scoid, self.info.coid).is_some();
            REPLIED_BOUND.lock().unwrap().push(bound);
        }
        Ok(())
    }
}

/// A front whose OCBs are numbers and whose handlers only log.
struct TFront;

impl Front for TFront {
    type Ctx<'a> = TCtx;
    type Ocb = usize;
    type Io = ();
    type Link = ();
    type Other = ();

    fn ocb_key(ocb: &usize) -> usize {
        *ocb
    }
    fn connect(_link: &(), ctx: &mut TCtx, subtype: u16) -> i32 {
        // The combine-close test's open handler: binds the connection to COMBINE_OCB.
        let core = COMBINE_CORE.lock().unwrap().clone();
        match core {
            Some(core) if subtype == _IO_CONNECT_OPEN => {
                match core.open_bind(&ctx.info, 0, COMBINE_OCB, None) {
                    Ok(()) => EOK,
                    Err(e) => e.0,
                }
            }
            _ => _RESMGR_DEFAULT,
        }
    }
    fn io(_io: &(), _ctx: &mut TCtx, ty: u16, ocb: &usize) -> i32 {
        LOCKS.lock().unwrap().push((ty, *ocb));
        if matches!(ty, _IO_RSVD_LOCK_OCB | _IO_RSVD_UNLOCK_OCB) {
            return _RESMGR_DEFAULT;
        }
        LOG.lock().unwrap().push((ty, *ocb));
        EOK
    }
    fn other(_other: &(), _ctx: &mut TCtx) -> i32 {
        _RESMGR_DEFAULT
    }
}

/// A read of a connection is being handled by one pool thread (it has found the binding) while
/// another handles the connection's `_IO_CLOSE` (a client with two threads on one fd). The
/// read holds a reference to the OCB from the moment it found it: `close_ocb` runs once, after
/// the read, never before it (a C OCB is freed by `close_ocb`) and never twice.
#[test]
fn a_close_racing_a_message_of_the_same_connection_closes_the_ocb_once_after_it() {
    let _serial = serial();
    const OCB: usize = 0x1000;
    let core: Arc<Resmgr<TFront>> = Arc::new(Resmgr::default());
    let link = core.attach(1, None, 0, 0, (), (), None).unwrap();
    let info = MsgInfo {
        scoid: 7,
        coid: 3,
        ..MsgInfo::default()
    };
    core.open_bind(&info, link, OCB, None).unwrap();

    let (reached_tx, reached_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let read = IoRead::new(_IO_READ, 10);
    let mut rctx = TCtx::new(10, 7, 3, read.as_bytes());
    rctx.on_set_id = Some(Box::new(move || {
        reached_tx.send(()).unwrap();
        go_rx.recv().unwrap();
    }));
    let reader = {
        let core = Arc::clone(&core);
        std::thread::spawn(move || core.handle(&mut rctx, |_| false))
    };
    reached_rx.recv().unwrap();

    let close = IoClose {
        type_: _IO_CLOSE,
        combine_len: 4,
    };
    let mut cctx = TCtx::new(11, 7, 3, close.as_bytes());
    assert_eq!(core.handle(&mut cctx, |_| false), 0);
    go_tx.send(()).unwrap();
    assert_eq!(reader.join().unwrap(), 0);

    let log: Vec<(u16, usize)> = LOG
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.1 == OCB)
        .copied()
        .collect();
    let closes = log.iter().filter(|e| e.0 == _IO_RSVD_CLOSE_OCB).count();
    assert_eq!(closes, 1, "close_ocb ran {closes} times: {log:x?}");
    let read_at = log
        .iter()
        .position(|e| e.0 == _IO_READ)
        .expect("the read ran");
    let close_at = log.iter().position(|e| e.0 == _IO_RSVD_CLOSE_OCB).unwrap();
    assert!(read_at < close_at, "the read ran on a closed OCB: {log:x?}");
    assert_eq!(core.counts(), (0, 0));
}

/// The close a detach (or a disconnect, or a combine close) fakes runs through the I/O path
/// as QNX's does: `close_dup` between `lock_ocb` and `unlock_ocb`, as every I/O handler (a
/// `close_dup` that touches the attribute relies on its lock; another pool thread may be in a
/// handler of the same OCB), then `close_ocb` once the last reference goes.
#[test]
fn a_faked_close_runs_close_dup_under_lock_ocb() {
    let _serial = serial();
    const OCB: usize = 0x2000;
    let core: Arc<Resmgr<TFront>> = Arc::new(Resmgr::default());
    let link = core.attach(1, None, 0, 0, (), (), None).unwrap();
    let info = MsgInfo {
        scoid: 9,
        coid: 4,
        ..MsgInfo::default()
    };
    core.open_bind(&info, link, OCB, None).unwrap();
    let mut ctx = TCtx::new(0, 0, 0, &[]);
    core.detach(Some(&mut ctx), link, userlib::resmgr::_RESMGR_DETACH_CLOSE)
        .unwrap();
    let seen: Vec<u16> = LOCKS
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.1 == OCB)
        .map(|e| e.0)
        .collect();
    assert_eq!(
        seen,
        [
            _IO_RSVD_LOCK_OCB,
            _IO_CLOSE,
            _IO_RSVD_UNLOCK_OCB,
            _IO_RSVD_CLOSE_OCB
        ],
        "{seen:x?}"
    );
}

/// `stat()` on a path is one `_IO_CONNECT_COMBINE_CLOSE` (an open, an `_io_stat`, a close):
/// the connection is unbound before the answer, as an `_IO_CLOSE` is, since the client may
/// detach its coid and reuse the number for its next open the moment it is answered; a binding
/// still there makes that open's `resmgr_open_bind` fail with EBUSY.
#[test]
fn a_combine_close_unbinds_before_it_answers() {
    let _serial = serial();
    let core: Arc<Resmgr<TFront>> = Arc::new(Resmgr::default());
    let link = core.attach(1, None, 0, 0, (), (), None).unwrap();
    assert_eq!(link, 0);
    *COMBINE_CORE.lock().unwrap() = Some(Arc::clone(&core));
    let hdr = IoConnect {
        type_: _IO_CONNECT,
        subtype: _IO_CONNECT_COMBINE_CLOSE,
        handle: link as u32,
        ioflag: 1,
        access: 3,
        path_len: 1,
        extra_len: 8,
        ..IoConnect::default()
    };
    let mut msg = hdr.to_bytes().to_vec();
    msg.resize(48, 0);
    let st = IoStat {
        type_: _IO_STAT,
        combine_len: 8,
        format: 3,
    };
    msg.extend_from_slice(st.as_bytes());
    let mut ctx = TCtx::new(20, 11, 5, &msg);
    let r = core.handle(&mut ctx, |_| false);
    *COMBINE_CORE.lock().unwrap() = None;
    assert_eq!(r, 0);
    let bound = REPLIED_BOUND.lock().unwrap().clone();
    assert_eq!(bound, [false], "bound at the answer: {bound:?}");
    assert_eq!(core.counts(), (0, 0));
    let log: Vec<u16> = LOG
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.1 == COMBINE_OCB)
        .map(|e| e.0)
        .collect();
    assert_eq!(log, [_IO_STAT, _IO_CLOSE, _IO_RSVD_CLOSE_OCB], "{log:x?}");
}

/// Two threads of a client close one fd at once: both closes found its binding (OCB1); the
/// first unbinds it, the client opens again on the same coid (bound to OCB2), and only then
/// does the second close go on. It must leave the new binding alone: it took it, closing the
/// new OCB under its client (and the engine's check that a binding's reference is never the
/// last one fired, a panic in a debug build's pool thread: found by fuzz_resmgr.rs in CI).
#[test]
fn a_stale_close_leaves_a_binding_made_after_it_alone() {
    let _serial = serial();
    const OCB1: usize = 0x4000;
    const OCB2: usize = 0x4001;
    let core: Arc<Resmgr<TFront>> = Arc::new(Resmgr::default());
    let link = core.attach(1, None, 0, 0, (), (), None).unwrap();
    let info = MsgInfo {
        scoid: 12,
        coid: 6,
        ..MsgInfo::default()
    };
    core.open_bind(&info, link, OCB1, None).unwrap();
    let close = IoClose {
        type_: _IO_CLOSE,
        combine_len: 4,
    };
    let mut stale = TCtx::new(30, 12, 6, close.as_bytes());
    {
        let core = Arc::clone(&core);
        stale.on_set_id = Some(Box::new(move || {
            // Meanwhile: the other thread's close, then the client's next open on the coid.
            let mut first = TCtx::new(31, 12, 6, close.as_bytes());
            assert_eq!(core.handle(&mut first, |_| false), 0);
            core.open_bind(&info, link, OCB2, None).unwrap();
        }));
    }
    // (Its EBADF answer cannot be delivered by this context, which has no kernel behind it.)
    let _ = core.handle(&mut stale, |_| false);
    assert_eq!(
        core.binding(12, 6).map(|b| b.1),
        Some(OCB2),
        "the new open's binding is still there"
    );
    let log: Vec<(u16, usize)> = LOG.lock().unwrap().clone();
    let count = |ty: u16, ocb: usize| log.iter().filter(|e| **e == (ty, ocb)).count();
    assert_eq!(
        count(_IO_CLOSE, OCB2),
        0,
        "the new OCB saw a close: {log:x?}"
    );
    assert_eq!(count(_IO_RSVD_CLOSE_OCB, OCB2), 0, "{log:x?}");
    assert_eq!(count(_IO_CLOSE, OCB1), 1, "{log:x?}");
    assert_eq!(count(_IO_RSVD_CLOSE_OCB, OCB1), 1, "{log:x?}");
    assert_eq!(core.counts(), (1, 1));
    // The client's close of its new fd.
    let mut last = TCtx::new(32, 12, 6, close.as_bytes());
    assert_eq!(core.handle(&mut last, |_| false), 0);
    assert_eq!(core.counts(), (0, 0));
}
