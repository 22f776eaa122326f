//! QNX's POSIX-layer helpers for resource managers (`<sys/iofunc.h>`), in Rust: an attribute
//! structure ([`IofuncAttr`], `iofunc_attr_t`: mode, owner, size, times, open counts), an OCB
//! ([`IofuncOcb`], `iofunc_ocb_t`: the open flags and the position), [`iofunc_func_init`]
//! filling a connect and an I/O table with the default handlers, and those handlers with QNX's
//! permission, share-mode and position rules (reference: QNX's `iofunc_*_default` pages).
//!
//! A resource manager with its own OCB type implements [`IofuncOcbT`] for it (QNX's
//! `IOFUNC_OCB_T` override with `ocb_calloc`): the type holds an [`IofuncOcb`] and says how to
//! make itself from one; the defaults then work on it.
//!
//! The attribute's lock (`iofunc_attr_lock`) is a recursive per-thread lock, as QNX's: the
//! default `lock_ocb`/`unlock_ocb` take it around every I/O handler, so I/O handlers of one
//! attribute run one at a time; the fields themselves are behind a short mutex
//! ([`IofuncAttr::fields`]).

use crate::current::with_current;
use crate::iomsg::*;
use crate::resmgr::{
    resmgr_open_bind, IoOpen, ResmgrConnectFuncs, ResmgrContext, ResmgrIoFuncs, _RESMGR_DEFAULT,
    EOK,
};
use crate::sys;
use kernel_sim::types::SigEvent;
use kernel_sim::Errno;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::{SystemTime, UNIX_EPOCH};
use zerocopy::IntoBytes;

/// `IOFUNC_ATTR_MTIME`: the modification time is to be set to now.
pub const IOFUNC_ATTR_MTIME: u32 = 0x1;
/// `IOFUNC_ATTR_ATIME`.
pub const IOFUNC_ATTR_ATIME: u32 = 0x2;
/// `IOFUNC_ATTR_CTIME`.
pub const IOFUNC_ATTR_CTIME: u32 = 0x4;
/// `IOFUNC_ATTR_DIRTY_TIME`.
pub const IOFUNC_ATTR_DIRTY_TIME: u32 = 0x40;
/// `IOFUNC_ATTR_DIRTY_SIZE`.
pub const IOFUNC_ATTR_DIRTY_SIZE: u32 = 0x10;
/// `IOFUNC_OCB_LAST_INUSE` (from [`iofunc_ocb_detach`]).
pub const IOFUNC_OCB_LAST_INUSE: u32 = 0x1;
/// `IOFUNC_OCB_LAST_READER`.
pub const IOFUNC_OCB_LAST_READER: u32 = 0x2;
/// `IOFUNC_OCB_LAST_WRITER`.
pub const IOFUNC_OCB_LAST_WRITER: u32 = 0x4;
/// `IOFUNC_NOTIFY_INPUT`, `_OUTPUT`, `_OBAND`: the notify array's indices.
pub const IOFUNC_NOTIFY_INPUT: usize = 0;
/// `IOFUNC_NOTIFY_OUTPUT`.
pub const IOFUNC_NOTIFY_OUTPUT: usize = 1;
/// `IOFUNC_NOTIFY_OBAND`.
pub const IOFUNC_NOTIFY_OBAND: usize = 2;

/// `iofunc_attr_t`'s fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IofuncAttrFields {
    /// `IOFUNC_ATTR_*`.
    pub flags: u32,
    /// Open OCBs.
    pub count: u16,
    /// OCBs open for reading.
    pub rcount: u16,
    /// OCBs open for writing.
    pub wcount: u16,
    /// OCBs denying reads (`SH_DENYRD`, `SH_DENYRW`).
    pub rlocks: u16,
    /// OCBs denying writes (`SH_DENYWR`, `SH_DENYRW`).
    pub wlocks: u16,
    /// Size in bytes.
    pub nbytes: i64,
    /// Inode number.
    pub inode: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time (seconds).
    pub mtime: i64,
    /// Access time.
    pub atime: i64,
    /// Change time.
    pub ctime: i64,
    /// `S_IF*` type and permission bits.
    pub mode: u32,
    /// Links.
    pub nlink: u32,
    /// Device number of a device.
    pub rdev: u64,
}

#[derive(Debug, Default)]
struct Owner {
    thread: Option<ThreadId>,
    depth: u32,
}

/// `iofunc_attr_t`: a resource's attributes, with its lock.
#[derive(Debug, Default)]
pub struct IofuncAttr {
    fields: Mutex<IofuncAttrFields>,
    owner: Mutex<Owner>,
    free: Condvar,
}

impl IofuncAttr {
    /// `iofunc_attr_init(attr, mode, NULL, NULL)`: mode `mode` (pass the type bits, e.g.
    /// `S_IFNAM | 0o666`), owned by this process's user and group, one link, its times to be set
    /// at the first [`iofunc_time_update`].
    pub fn new(mode: u32) -> IofuncAttr {
        // SAFETY: getuid/getgid cannot fail and touch no memory of ours.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        IofuncAttr {
            fields: Mutex::new(IofuncAttrFields {
                flags: IOFUNC_ATTR_DIRTY_TIME
                    | IOFUNC_ATTR_MTIME
                    | IOFUNC_ATTR_ATIME
                    | IOFUNC_ATTR_CTIME,
                uid,
                gid,
                mode,
                nlink: 1,
                ..IofuncAttrFields::default()
            }),
            ..IofuncAttr::default()
        }
    }

    /// The fields (held briefly: never across a kernel call that waits).
    pub fn fields(&self) -> MutexGuard<'_, IofuncAttrFields> {
        self.fields.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `iofunc_attr_lock`: the recursive per-thread lock.
    pub fn lock(&self) {
        let me = std::thread::current().id();
        let mut o = self.owner.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match o.thread {
                None => {
                    o.thread = Some(me);
                    o.depth = 1;
                    return;
                }
                Some(t) if t == me => {
                    o.depth += 1;
                    return;
                }
                Some(_) => o = self.free.wait(o).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    /// `iofunc_attr_trylock`: EBUSY when another thread holds it.
    pub fn trylock(&self) -> Result<(), Errno> {
        let me = std::thread::current().id();
        let mut o = self.owner.lock().unwrap_or_else(|p| p.into_inner());
        match o.thread {
            None => {
                o.thread = Some(me);
                o.depth = 1;
                Ok(())
            }
            Some(t) if t == me => {
                o.depth += 1;
                Ok(())
            }
            Some(_) => Err(Errno::EBUSY),
        }
    }

    /// `iofunc_attr_unlock`: EPERM when this thread does not hold it.
    pub fn unlock(&self) -> Result<(), Errno> {
        let me = std::thread::current().id();
        let mut o = self.owner.lock().unwrap_or_else(|p| p.into_inner());
        if o.thread != Some(me) {
            return Err(Errno::EPERM);
        }
        o.depth -= 1;
        if o.depth == 0 {
            o.thread = None;
            self.free.notify_one();
        }
        Ok(())
    }
}

/// `iofunc_ocb_t`'s fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IofuncOcbFields {
    /// The open flags, the access bits as `_IO_FLAG_RD`/`_IO_FLAG_WR`.
    pub ioflag: u32,
    /// The position.
    pub offset: i64,
    /// The share mode (`SH_*`).
    pub sflag: u16,
    /// `IOFUNC_OCB_*`.
    pub flags: u16,
}

/// `iofunc_ocb_t`: one open of a resource.
#[derive(Debug)]
pub struct IofuncOcb {
    /// The resource.
    pub attr: Arc<IofuncAttr>,
    fields: Mutex<IofuncOcbFields>,
}

impl IofuncOcb {
    /// An OCB of `attr` with these fields.
    pub fn new(attr: Arc<IofuncAttr>, fields: IofuncOcbFields) -> IofuncOcb {
        IofuncOcb {
            attr,
            fields: Mutex::new(fields),
        }
    }

    /// The fields (held briefly).
    pub fn fields(&self) -> MutexGuard<'_, IofuncOcbFields> {
        self.fields.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An OCB type the default handlers work on (QNX's `IOFUNC_OCB_T` override): it holds an
/// [`IofuncOcb`] and can be made from one (QNX's `ocb_calloc`).
pub trait IofuncOcbT: Send + Sync + 'static {
    /// The POSIX-layer part.
    fn iofunc(&self) -> &IofuncOcb;
    /// A new OCB around `base` (made by the default open, whose context `ctp` is: the client's
    /// `_msg_info`, as QNX's `ocb_calloc(ctp, attr)` gets it; the attribute is `base.attr`).
    fn from_base(base: IofuncOcb, ctp: &ResmgrContext<'_>) -> Self
    where
        Self: Sized;
}

impl IofuncOcbT for IofuncOcb {
    fn iofunc(&self) -> &IofuncOcb {
        self
    }
    fn from_base(base: IofuncOcb, _ctp: &ResmgrContext<'_>) -> Self {
        base
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `iofunc_time_update(attr)`: each time marked to be set (`IOFUNC_ATTR_MTIME`, `ATIME`,
/// `CTIME`) becomes now.
pub fn iofunc_time_update(attr: &IofuncAttr) {
    let mut f = attr.fields();
    let t = now();
    if f.flags & IOFUNC_ATTR_MTIME != 0 {
        f.mtime = t;
    }
    if f.flags & IOFUNC_ATTR_ATIME != 0 {
        f.atime = t;
    }
    if f.flags & IOFUNC_ATTR_CTIME != 0 {
        f.ctime = t;
    }
    if f.flags & (IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME | IOFUNC_ATTR_CTIME) != 0 {
        f.flags &= !(IOFUNC_ATTR_MTIME | IOFUNC_ATTR_ATIME | IOFUNC_ATTR_CTIME);
        f.flags |= IOFUNC_ATTR_DIRTY_TIME;
    }
}

/// The credentials of a client: its process's effective user and group (its Linux program's:
/// [`crate::qnx::connect_client_info`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's pid.
    pub pid: i32,
    /// Effective user.
    pub euid: u32,
    /// Effective group.
    pub egid: u32,
}

/// `iofunc_client_info(ctp, ioflag, info)`: who the client is, through ConnectClientInfo on
/// the message's scoid (its Linux ids, read when asked); this process's ids if that fails (a
/// context no receive filled, a client already gone).
pub fn iofunc_client_info(ctp: &ResmgrContext<'_>) -> ClientInfo {
    let info = ctp.info();
    match crate::qnx::connect_client_info(info.scoid) {
        Ok(ci) => ClientInfo {
            pid: ci.pid,
            euid: ci.cred.euid,
            egid: ci.cred.egid,
        },
        Err(_) => {
            // SAFETY: geteuid/getegid cannot fail and touch no memory of ours.
            let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
            ClientInfo {
                pid: info.pid,
                euid,
                egid,
            }
        }
    }
}

/// `iofunc_check_access(ctp, attr, mode, info)`: whether `info` may access `attr` for `mode`
/// (`S_IREAD`, `S_IWRITE`, `S_IEXEC` bits of the owner class): root may; else the owner's,
/// the group's or the others' bits decide. EACCES refused.
pub fn iofunc_check_access(attr: &IofuncAttr, mode: u32, info: &ClientInfo) -> Result<(), Errno> {
    if info.euid == 0 {
        return Ok(());
    }
    let f = attr.fields();
    let want = mode & 0o700;
    let have = if info.euid == f.uid {
        f.mode & 0o700
    } else if info.egid == f.gid {
        (f.mode & 0o070) << 3
    } else {
        (f.mode & 0o007) << 6
    };
    if want & !have != 0 {
        Err(Errno::EACCES)
    } else {
        Ok(())
    }
}

/// `iofunc_open(ctp, msg, attr, NULL, NULL)`: QNX's checks of an open of an existing
/// resource: EINVAL sync flags (no `IOFUNC_PC_SYNC_IO` here), EBUSY a share-mode conflict,
/// EEXIST `O_CREAT | O_EXCL`, EISDIR writing a directory, EACCES the mode refuses. Returns EOK
/// or the errno; `O_TRUNC` with write access marks the times.
pub fn iofunc_open(ctp: &ResmgrContext<'_>, msg: &IoOpen, attr: &IofuncAttr) -> i32 {
    let c = &msg.connect;
    let ioflag = c.ioflag & (!_IO_FLAG_MASK | u32::from(c.access));
    let oflag = oflag_from_ioflag(ioflag);
    if oflag & (libc::O_SYNC | libc::O_DSYNC | libc::O_RSYNC) != 0 {
        return Errno::EINVAL.0;
    }
    let rd = ioflag & u32::from(_IO_FLAG_RD) != 0;
    let wr = ioflag & u32::from(_IO_FLAG_WR) != 0;
    {
        let f = attr.fields();
        let deny = c.sflag & SH_MASK;
        if (rd && f.rlocks > 0)
            || (wr && f.wlocks > 0)
            || ((deny == SH_DENYRD || deny == SH_DENYRW) && f.rcount > 0)
            || ((deny == SH_DENYWR || deny == SH_DENYRW) && f.wcount > 0)
        {
            return Errno::EBUSY.0;
        }
        if oflag & libc::O_CREAT != 0 && oflag & libc::O_EXCL != 0 {
            return Errno::EEXIST.0;
        }
        if wr && f.mode & libc::S_IFMT == libc::S_IFDIR {
            return Errno::EISDIR.0;
        }
    }
    let info = iofunc_client_info(ctp);
    let mut want = 0;
    if rd {
        want |= libc::S_IRUSR;
    }
    if wr {
        want |= libc::S_IWUSR;
    }
    if let Err(e) = iofunc_check_access(attr, want, &info) {
        return e.0;
    }
    if wr && oflag & libc::O_TRUNC != 0 {
        attr.fields().flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    }
    EOK
}

/// `iofunc_ocb_attach(ctp, msg, ocb, attr, io_funcs)`: binds the client's connection to `ocb`
/// (whose fields are set from the open: ioflag, sflag, offset 0) and counts it in the
/// attribute (readers, writers, share locks). EOK, or `resmgr_open_bind`'s errno.
pub fn iofunc_ocb_attach<O: IofuncOcbT>(
    ctp: &ResmgrContext<'_>,
    msg: &IoOpen,
    ocb: Arc<O>,
    io_funcs: Option<&ResmgrIoFuncs<O>>,
) -> i32 {
    let c = &msg.connect;
    let ioflag = c.ioflag & (!_IO_FLAG_MASK | u32::from(c.access));
    let rd = ioflag & u32::from(_IO_FLAG_RD) != 0;
    let wr = ioflag & u32::from(_IO_FLAG_WR) != 0;
    let deny = c.sflag & SH_MASK;
    let (deny_rd, deny_wr) = (
        deny == SH_DENYRD || deny == SH_DENYRW,
        deny == SH_DENYWR || deny == SH_DENYRW,
    );
    {
        let mut o = ocb.iofunc().fields();
        o.ioflag = ioflag;
        o.sflag = c.sflag;
        o.offset = 0;
        o.flags = 0;
    }
    // Counted in the attribute before the binding (and un-counted if it fails), in one hold of
    // its fields, so that concurrent opens cannot push a count past its 16 bits: an open one
    // more than a count holds is refused (ENFILE, as for an OCB that cannot be had) rather
    // than wrapping it, which would undo the share-mode checks and the last-close bits.
    let counts = |f: &mut IofuncAttrFields, add: bool| {
        let step = |n: &mut u16, counted: bool| {
            if counted {
                *n = if add { *n + 1 } else { n.saturating_sub(1) };
            }
        };
        step(&mut f.rcount, rd);
        step(&mut f.wcount, wr);
        step(&mut f.rlocks, deny_rd);
        step(&mut f.wlocks, deny_wr);
        step(&mut f.count, true);
    };
    {
        let mut f = ocb.iofunc().attr.fields();
        let full = |n: u16, counted: bool| counted && n == u16::MAX;
        if full(f.count, true)
            || full(f.rcount, rd)
            || full(f.wcount, wr)
            || full(f.rlocks, deny_rd)
            || full(f.wlocks, deny_wr)
        {
            return Errno::ENFILE.0;
        }
        counts(&mut f, true);
    }
    if let Err(e) = resmgr_open_bind(ctp, Arc::clone(&ocb), io_funcs) {
        counts(&mut ocb.iofunc().attr.fields(), false);
        return e.0;
    }
    EOK
}

/// `iofunc_ocb_detach(ctp, ocb)`: un-counts the OCB from its attribute; returns the
/// `IOFUNC_OCB_LAST_*` bits.
pub fn iofunc_ocb_detach(ocb: &IofuncOcb) -> u32 {
    let o = *ocb.fields();
    let mut f = ocb.attr.fields();
    let mut last = 0;
    if o.ioflag & u32::from(_IO_FLAG_RD) != 0 {
        f.rcount = f.rcount.saturating_sub(1);
        if f.rcount == 0 {
            last |= IOFUNC_OCB_LAST_READER;
        }
    }
    if o.ioflag & u32::from(_IO_FLAG_WR) != 0 {
        f.wcount = f.wcount.saturating_sub(1);
        if f.wcount == 0 {
            last |= IOFUNC_OCB_LAST_WRITER;
        }
    }
    let deny = o.sflag & SH_MASK;
    if deny == SH_DENYRD || deny == SH_DENYRW {
        f.rlocks = f.rlocks.saturating_sub(1);
    }
    if deny == SH_DENYWR || deny == SH_DENYRW {
        f.wlocks = f.wlocks.saturating_sub(1);
    }
    f.count = f.count.saturating_sub(1);
    if f.count == 0 {
        last |= IOFUNC_OCB_LAST_INUSE;
    }
    last
}

/// `iofunc_open_default(ctp, msg, attr, extra)`: [`iofunc_open`], then a new OCB (`O` made
/// from an [`IofuncOcb`]) bound with [`iofunc_ocb_attach`] and the link's I/O table.
pub fn iofunc_open_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoOpen,
    attr: &Arc<IofuncAttr>,
) -> i32 {
    attr.lock();
    let n = iofunc_open(ctp, msg, attr);
    let n = if n == EOK {
        let base = IofuncOcb::new(Arc::clone(attr), IofuncOcbFields::default());
        let ocb = Arc::new(O::from_base(base, ctp));
        iofunc_ocb_attach::<O>(ctp, msg, ocb, None)
    } else {
        n
    };
    let _ = attr.unlock();
    n
}

/// `iofunc_close_ocb_default`: un-counts the OCB (it is freed with its last reference).
pub fn iofunc_close_ocb_default<O: IofuncOcbT>(_ctp: &mut ResmgrContext<'_>, ocb: &Arc<O>) -> i32 {
    let o = ocb.iofunc();
    o.attr.lock();
    iofunc_ocb_detach(o);
    let _ = o.attr.unlock();
    EOK
}

/// `iofunc_lock_ocb_default`: locks the OCB's attribute.
pub fn iofunc_lock_ocb_default<O: IofuncOcbT>(_ctp: &mut ResmgrContext<'_>, ocb: &Arc<O>) -> i32 {
    ocb.iofunc().attr.lock();
    EOK
}

/// `iofunc_unlock_ocb_default`: unlocks it.
pub fn iofunc_unlock_ocb_default<O: IofuncOcbT>(_ctp: &mut ResmgrContext<'_>, ocb: &Arc<O>) -> i32 {
    match ocb.iofunc().attr.unlock() {
        Ok(()) => EOK,
        Err(e) => e.0,
    }
}

/// `iofunc_read_verify(ctp, msg, ocb, nonblock)`: EBADF the OCB was not opened for reading.
/// Returns whether the read is non-blocking (`O_NONBLOCK`, or the message's xflags).
pub fn iofunc_read_verify(msg: &IoRead, ocb: &IofuncOcb) -> Result<bool, Errno> {
    let o = *ocb.fields();
    if o.ioflag & u32::from(_IO_FLAG_RD) == 0 {
        return Err(Errno::EBADF);
    }
    Ok(nonblock(msg.xtype, o.ioflag))
}

/// `iofunc_write_verify(ctp, msg, ocb, nonblock)`: EBADF not opened for writing; with
/// `O_APPEND` (and no explicit offset) moves the position to the end.
pub fn iofunc_write_verify(msg: &IoWrite, ocb: &IofuncOcb) -> Result<bool, Errno> {
    let mut o = ocb.fields();
    if o.ioflag & u32::from(_IO_FLAG_WR) == 0 {
        return Err(Errno::EBADF);
    }
    if o.ioflag & libc::O_APPEND as u32 != 0 && msg.xtype & _IO_XTYPE_MASK != _IO_XTYPE_OFFSET {
        o.offset = ocb.attr.fields().nbytes;
    }
    Ok(nonblock(msg.xtype, o.ioflag))
}

fn nonblock(xtype: u32, ioflag: u32) -> bool {
    if xtype & _IO_XFLAG_BLOCK != 0 {
        false
    } else {
        xtype & _IO_XFLAG_NONBLOCK != 0 || ioflag & libc::O_NONBLOCK as u32 != 0
    }
}

/// `iofunc_read_default`: verifies, and answers end of file (0 bytes). ENOSYS an xtype.
pub fn iofunc_read_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoRead,
    ocb: &Arc<O>,
) -> i32 {
    if let Err(e) = iofunc_read_verify(msg, ocb.iofunc()) {
        return e.0;
    }
    if msg.xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
        return Errno::ENOSYS.0;
    }
    ctp.set_status(0);
    EOK
}

/// `iofunc_write_default`: verifies, and says every byte was written (`/dev/null`).
pub fn iofunc_write_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoWrite,
    ocb: &Arc<O>,
) -> i32 {
    if let Err(e) = iofunc_write_verify(msg, ocb.iofunc()) {
        return e.0;
    }
    if msg.xtype & _IO_XTYPE_MASK != _IO_XTYPE_NONE {
        return Errno::ENOSYS.0;
    }
    let n = msg.get_nbytes();
    ctp.set_status(n as i64);
    if n > 0 {
        ocb.iofunc().attr.fields().flags |= IOFUNC_ATTR_MTIME | IOFUNC_ATTR_CTIME;
    }
    EOK
}

/// `iofunc_stat(ctp, attr, &st)`: a Linux `struct stat` of the attribute.
pub fn iofunc_stat(attr: &IofuncAttr) -> libc::stat {
    let f = *attr.fields();
    // SAFETY: `struct stat` is plain integers: all zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_ino = f.inode;
    st.st_size = f.nbytes;
    st.st_dev = f.rdev;
    st.st_rdev = f.rdev;
    st.st_uid = f.uid;
    st.st_gid = f.gid;
    st.st_mtime = f.mtime;
    st.st_atime = f.atime;
    st.st_ctime = f.ctime;
    st.st_mode = f.mode;
    st.st_nlink = f.nlink as _;
    st.st_blksize = 512;
    st.st_blocks = (f.nbytes + 511) / 512;
    st
}

/// The bytes of a `struct stat`.
pub fn stat_bytes(st: &libc::stat) -> Vec<u8> {
    // SAFETY: `st` is a live `struct stat`, plain integers with no padding that is uninit in
    // a value made by `zeroed` and field stores; its size is `size_of::<stat>()`.
    unsafe {
        std::slice::from_raw_parts(
            (st as *const libc::stat).cast::<u8>(),
            std::mem::size_of::<libc::stat>(),
        )
    }
    .to_vec()
}

/// `iofunc_stat_default`: updates the times and answers the `struct stat` (Linux's).
pub fn iofunc_stat_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    _msg: &IoStat,
    ocb: &Arc<O>,
) -> i32 {
    let attr = &ocb.iofunc().attr;
    iofunc_time_update(attr);
    let st = iofunc_stat(attr);
    ctp.ptr(&stat_bytes(&st))
}

/// `iofunc_lseek(ctp, msg, ocb, attr)` / `iofunc_lseek_default`: SEEK_SET, SEEK_CUR,
/// SEEK_END (from the attribute's size); EINVAL another whence or a negative result,
/// EOVERFLOW one past the largest offset; answers
/// the new position (8 bytes), or nothing inside a combine message.
pub fn iofunc_lseek_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoLseek,
    ocb: &Arc<O>,
) -> i32 {
    let ocb = ocb.iofunc();
    let size = ocb.attr.fields().nbytes;
    let mut o = ocb.fields();
    let off = msg.offset as i64;
    let base = match i32::from(msg.whence) {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => o.offset,
        libc::SEEK_END => size,
        _ => return Errno::EINVAL.0,
    };
    let Some(new) = base.checked_add(off) else {
        return Errno::EOVERFLOW.0;
    };
    if new < 0 {
        return Errno::EINVAL.0;
    }
    o.offset = new;
    drop(o);
    if ctp.rcvid() == 0 || msg.combine_len & _IO_COMBINE_FLAG != 0 {
        return EOK;
    }
    ctp.ptr(&(new as u64).to_ne_bytes())
}

/// `iofunc_devctl(ctp, msg, ocb, attr)` / `iofunc_devctl_default`: `DCMD_ALL_GETFLAGS` (the
/// access mode and the settable open flags), `DCMD_ALL_SETFLAGS` (`O_APPEND`, `O_NONBLOCK` and the other settable flags;
/// EINVAL sync flags), `DCMD_ALL_GETMOUNTFLAGS` (0); everything else [`_RESMGR_DEFAULT`] (the
/// client's devctl then fails with ENOTTY).
pub fn iofunc_devctl_default<O: IofuncOcbT>(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoDevctl,
    ocb: &Arc<O>,
) -> i32 {
    let ocb = ocb.iofunc();
    let reply = |ctp: &mut ResmgrContext<'_>, v: i32| {
        let mut b = IoDevctlReply {
            nbytes: 4,
            ..IoDevctlReply::default()
        }
        .as_bytes()
        .to_vec();
        b.extend_from_slice(&v.to_ne_bytes());
        ctp.ptr(&b)
    };
    const SETTABLE: i32 = libc::O_APPEND | libc::O_NONBLOCK | libc::O_DSYNC | libc::O_SYNC;
    match msg.dcmd {
        DCMD_ALL_GETFLAGS => {
            // QNX's: the settable flags and the access mode, not O_CREAT, O_TRUNC, ...
            let ioflag = ocb.fields().ioflag;
            let oflag = oflag_from_ioflag(ioflag);
            reply(ctp, (oflag & SETTABLE) | (oflag & libc::O_ACCMODE))
        }
        DCMD_ALL_SETFLAGS => {
            let data = ctp
                .current()
                .get(16..20)
                .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            let Some(v) = data else {
                return Errno::EINVAL.0;
            };
            if v & (libc::O_DSYNC | libc::O_SYNC) != 0 {
                return Errno::EINVAL.0;
            }
            let mut o = ocb.fields();
            o.ioflag = (o.ioflag & !(SETTABLE as u32)) | (v & SETTABLE) as u32;
            EOK
        }
        DCMD_ALL_GETMOUNTFLAGS => reply(ctp, 0),
        _ => _RESMGR_DEFAULT,
    }
}

/// `iofunc_close_dup_default`: EOK (no record locks here).
pub fn iofunc_close_dup_default<O: IofuncOcbT>(
    _ctp: &mut ResmgrContext<'_>,
    _msg: &IoClose,
    _ocb: &Arc<O>,
) -> i32 {
    EOK
}

/// `iofunc_func_init(nconnect, connect, nio, io)`: tables with QNX's defaults: open
/// ([`iofunc_open_default`]), and read, write, close_ocb, stat, lseek, devctl, close_dup,
/// lock_ocb, unlock_ocb; notify, unblock and msg are left empty.
pub fn iofunc_func_init<O: IofuncOcbT>() -> (ResmgrConnectFuncs<IofuncAttr>, ResmgrIoFuncs<O>) {
    let connect = ResmgrConnectFuncs {
        open: Some(Arc::new(
            |ctp: &mut ResmgrContext<'_>, msg: &IoOpen, attr: &Arc<IofuncAttr>| {
                iofunc_open_default::<O>(ctp, msg, attr)
            },
        )),
        ..ResmgrConnectFuncs::default()
    };
    let io = ResmgrIoFuncs {
        read: Some(Arc::new(iofunc_read_default::<O>)),
        write: Some(Arc::new(iofunc_write_default::<O>)),
        close_ocb: Some(Arc::new(iofunc_close_ocb_default::<O>)),
        stat: Some(Arc::new(iofunc_stat_default::<O>)),
        lseek: Some(Arc::new(iofunc_lseek_default::<O>)),
        devctl: Some(Arc::new(iofunc_devctl_default::<O>)),
        close_dup: Some(Arc::new(iofunc_close_dup_default::<O>)),
        lock_ocb: Some(Arc::new(iofunc_lock_ocb_default::<O>)),
        unlock_ocb: Some(Arc::new(iofunc_unlock_ocb_default::<O>)),
        ..ResmgrIoFuncs::default()
    };
    (connect, io)
}

// ---------------------------------------------------------------- notification

/// One armed notification: who asked, and the event to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IofuncNotifyEvent {
    /// The client's rcvid (for `MsgDeliverEvent`).
    pub rcvid: i64,
    /// Its server connection.
    pub scoid: i32,
    /// Its connection.
    pub coid: i32,
    /// The count that fires it.
    pub cnt: i32,
    /// The event.
    pub event: SigEvent,
}

/// `iofunc_notify_t`: the armed clients of one condition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IofuncNotify {
    /// The least count an armed entry waits for (`i32::MAX`: none armed).
    pub cnt: i32,
    /// The armed entries.
    pub list: Vec<IofuncNotifyEvent>,
}

/// `IOFUNC_NOTIFY_INIT(nop)`: three empty conditions (input, output, out-of-band).
pub fn iofunc_notify_init() -> [IofuncNotify; 3] {
    std::array::from_fn(|_| IofuncNotify {
        cnt: i32::MAX,
        list: Vec::new(),
    })
}

/// `iofunc_notify(ctp, msg, nop, trig, notifycounts, armed)`: `trig` the conditions true now
/// (`_NOTIFY_COND_*`). `_NOTIFY_ACTION_POLL` answers them; `_POLLARM` answers them and arms
/// the asked conditions if none is true; `_TRANARM` arms (EBUSY a second armed input client);
/// `_CONDARM` answers them if one is true, else arms and fails with EAGAIN. Returns what the
/// handler returns; `armed` says whether something was armed.
pub fn iofunc_notify(
    ctp: &mut ResmgrContext<'_>,
    msg: &IoNotify,
    nop: &mut [IofuncNotify; 3],
    trig: i32,
    notifycounts: Option<&[i32; 3]>,
    armed: Option<&mut bool>,
) -> i32 {
    let action = msg.action & _NOTIFY_ACTION_MASK;
    let asked = msg.flags & _NOTIFY_COND_MASK & !_NOTIFY_COND_EXTEN;
    let met = trig & asked;
    let info = *ctp.info();
    let arm = match action {
        _NOTIFY_ACTION_POLL => false,
        _NOTIFY_ACTION_TRANARM => true,
        _ => met == 0,
    };
    if action == _NOTIFY_ACTION_TRANARM
        && asked & _NOTIFY_COND_INPUT != 0
        && nop[IOFUNC_NOTIFY_INPUT]
            .list
            .iter()
            .any(|e| e.scoid != info.scoid || e.coid != info.coid)
    {
        return Errno::EBUSY.0;
    }
    let mut did = false;
    for (i, n) in nop.iter_mut().enumerate() {
        let cond = _NOTIFY_COND_INPUT << i;
        n.list
            .retain(|e| e.scoid != info.scoid || e.coid != info.coid);
        if arm && asked & cond != 0 {
            let cnt = if action == _NOTIFY_ACTION_TRANARM {
                0
            } else {
                notifycounts.map_or(1, |c| c[i])
            };
            n.list.push(IofuncNotifyEvent {
                rcvid: ctp.rcvid(),
                scoid: info.scoid,
                coid: info.coid,
                cnt,
                event: SigEvent::from(&msg.event),
            });
            did = true;
        }
        n.cnt = n.list.iter().map(|e| e.cnt).min().unwrap_or(i32::MAX);
    }
    if let Some(a) = armed {
        *a = did;
    }
    if action == _NOTIFY_ACTION_CONDARM && did {
        return Errno::EAGAIN.0;
    }
    let reply = IoNotifyReply {
        flags: met as u32,
        event: msg.event,
        ..IoNotifyReply::default()
    };
    ctp.ptr(reply.as_bytes())
}

/// `iofunc_notify_trigger(nop, cnt, index)`: delivers the event of every entry of condition
/// `index` armed for at most `cnt` (a pulse or signal of code `SI_NOTIFY` gets the condition
/// ORed into its value) and disarms it.
pub fn iofunc_notify_trigger(nop: &mut [IofuncNotify; 3], cnt: i32, index: usize) {
    let Some(n) = nop.get_mut(index) else {
        return;
    };
    let (fire, keep): (Vec<_>, Vec<_>) = n.list.drain(..).partition(|e| e.cnt <= cnt);
    n.list = keep;
    n.cnt = n.list.iter().map(|e| e.cnt).min().unwrap_or(i32::MAX);
    for e in fire {
        let mut ev = e.event;
        if ev.sigev_code == SI_NOTIFY {
            let v = (ev.sigev_value as u32 as i32) | (_NOTIFY_COND_INPUT << index);
            ev.sigev_value = u64::from(v as u32);
        }
        let _ = with_current(|c| sys::msg_deliver_event(c, e.rcvid, &ev));
    }
}

/// `iofunc_notify_remove(ctp, nop)`: forgets the entries of the context's connection (call it
/// from `close_ocb` or `close_dup`); `None` forgets all.
pub fn iofunc_notify_remove(ctp: Option<&ResmgrContext<'_>>, nop: &mut [IofuncNotify; 3]) {
    for n in nop.iter_mut() {
        match ctp {
            Some(c) => {
                let i = c.info();
                n.list.retain(|e| e.scoid != i.scoid || e.coid != i.coid);
            }
            None => n.list.clear(),
        }
        n.cnt = n.list.iter().map(|e| e.cnt).min().unwrap_or(i32::MAX);
    }
}
