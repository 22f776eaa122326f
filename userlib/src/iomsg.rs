//! QNX's I/O messages (`<sys/iomsg.h>`, `<sys/iomgr.h>`, `<devctl.h>`): what a client's
//! `open`, `read`, `write`, `close`, `lseek`, `fstat`, `devctl` and `ionotify` send a resource
//! manager, in QNX 7's 64-bit layouts, with their constants. The server side is
//! [`crate::resmgr`] and [`crate::iofunc`]; the client side [`crate::io`].
//!
//! Every message starts with its 16-bit type; those sent on an open file descriptor continue
//! with `combine_len` (the size of this part; `_IO_COMBINE_FLAG` set when another message
//! follows it in the same send).

use kernel_sim::types::SigEvent;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use kernel_sim::consts::{
    _FTYPE_ALL, _FTYPE_ANY, _FTYPE_FILE, _FTYPE_NAME, _IO_BASE, _IO_CONNECT, _IO_CONNECT_OPEN,
    _IO_FLAG_RD, _IO_FLAG_WR, _IO_MAX, SH_DENYNO,
};
pub use kernel_sim::types::IoConnect;

// ---------------------------------------------------------------- message types

/// `_IO_READ`.
pub const _IO_READ: u16 = 0x101;
/// `_IO_WRITE`.
pub const _IO_WRITE: u16 = 0x102;
/// `_IO_RSVD_CLOSE_OCB` (never sent: the slot of `close_ocb`).
pub const _IO_RSVD_CLOSE_OCB: u16 = 0x103;
/// `_IO_STAT`.
pub const _IO_STAT: u16 = 0x104;
/// `_IO_NOTIFY`.
pub const _IO_NOTIFY: u16 = 0x105;
/// `_IO_DEVCTL`.
pub const _IO_DEVCTL: u16 = 0x106;
/// `_IO_RSVD_UNBLOCK` (never sent: the slot of `unblock`).
pub const _IO_RSVD_UNBLOCK: u16 = 0x107;
/// `_IO_PATHCONF`.
pub const _IO_PATHCONF: u16 = 0x108;
/// `_IO_LSEEK`.
pub const _IO_LSEEK: u16 = 0x109;
/// `_IO_CHMOD`.
pub const _IO_CHMOD: u16 = 0x10A;
/// `_IO_CHOWN`.
pub const _IO_CHOWN: u16 = 0x10B;
/// `_IO_UTIME`.
pub const _IO_UTIME: u16 = 0x10C;
/// `_IO_OPENFD`.
pub const _IO_OPENFD: u16 = 0x10D;
/// `_IO_FDINFO`.
pub const _IO_FDINFO: u16 = 0x10E;
/// `_IO_LOCK`.
pub const _IO_LOCK: u16 = 0x10F;
/// `_IO_SPACE`.
pub const _IO_SPACE: u16 = 0x110;
/// `_IO_SHUTDOWN`.
pub const _IO_SHUTDOWN: u16 = 0x111;
/// `_IO_MMAP`.
pub const _IO_MMAP: u16 = 0x112;
/// `_IO_MSG`: a private message on a resource manager's fd.
pub const _IO_MSG: u16 = 0x113;
/// `_IO_RSVD`.
pub const _IO_RSVD: u16 = 0x114;
/// `_IO_DUP`.
pub const _IO_DUP: u16 = 0x115;
/// `_IO_CLOSE`.
pub const _IO_CLOSE: u16 = 0x116;
/// `_IO_RSVD_LOCK_OCB` (never sent: the slot of `lock_ocb`).
pub const _IO_RSVD_LOCK_OCB: u16 = 0x117;
/// `_IO_RSVD_UNLOCK_OCB` (never sent: the slot of `unlock_ocb`).
pub const _IO_RSVD_UNLOCK_OCB: u16 = 0x118;
/// `_IO_SYNC`.
pub const _IO_SYNC: u16 = 0x119;
/// `_IO_POWER`.
pub const _IO_POWER: u16 = 0x11A;
/// `_IO_ACL` (7.x).
pub const _IO_ACL: u16 = 0x11B;
/// `_IO_RSVD_PAUSE` (7.x).
pub const _IO_RSVD_PAUSE: u16 = 0x11C;
/// `_IO_RSVD_UNPAUSE` (7.x).
pub const _IO_RSVD_UNPAUSE: u16 = 0x11D;
/// `_IO_READ64` (7.x: a read of 4 GiB or more).
pub const _IO_READ64: u16 = 0x11E;
/// `_IO_WRITE64` (7.x).
pub const _IO_WRITE64: u16 = 0x11F;
/// `_IO_NOTIFY64` (7.x).
pub const _IO_NOTIFY64: u16 = 0x120;
/// `_IO_UTIME64` (7.x).
pub const _IO_UTIME64: u16 = 0x121;

/// `_IO_COMBINE_FLAG`: in `combine_len`, another message follows this one.
pub const _IO_COMBINE_FLAG: u16 = 0x8000;

/// The name of I/O message type `ty` (`"_IO_READ"` for 0x101, `"_IO_CONNECT"` for 0x100), or
/// `None` for a type outside the resource managers' range: what a message's first two bytes
/// say, as the sequence chart labels it.
pub fn io_message_name(ty: u16) -> Option<&'static str> {
    const NAMES: [&str; 0x22] = [
        "_IO_CONNECT",
        "_IO_READ",
        "_IO_WRITE",
        "_IO_RSVD_CLOSE_OCB",
        "_IO_STAT",
        "_IO_NOTIFY",
        "_IO_DEVCTL",
        "_IO_RSVD_UNBLOCK",
        "_IO_PATHCONF",
        "_IO_LSEEK",
        "_IO_CHMOD",
        "_IO_CHOWN",
        "_IO_UTIME",
        "_IO_OPENFD",
        "_IO_FDINFO",
        "_IO_LOCK",
        "_IO_SPACE",
        "_IO_SHUTDOWN",
        "_IO_MMAP",
        "_IO_MSG",
        "_IO_RSVD",
        "_IO_DUP",
        "_IO_CLOSE",
        "_IO_RSVD_LOCK_OCB",
        "_IO_RSVD_UNLOCK_OCB",
        "_IO_SYNC",
        "_IO_POWER",
        "_IO_ACL",
        "_IO_RSVD_PAUSE",
        "_IO_RSVD_UNPAUSE",
        "_IO_READ64",
        "_IO_WRITE64",
        "_IO_NOTIFY64",
        "_IO_UTIME64",
    ];
    let i = usize::from(ty.checked_sub(crate::consts::_IO_CONNECT)?);
    NAMES.get(i).copied()
}

// ---------------------------------------------------------------- connect

/// `_IO_CONNECT_COMBINE`.
pub const _IO_CONNECT_COMBINE: u16 = 0;
/// `_IO_CONNECT_COMBINE_CLOSE` (`stat()` on a path).
pub const _IO_CONNECT_COMBINE_CLOSE: u16 = 1;
/// `_IO_CONNECT_UNLINK`.
pub const _IO_CONNECT_UNLINK: u16 = 3;
/// `_IO_CONNECT_RENAME`.
pub const _IO_CONNECT_RENAME: u16 = 4;
/// `_IO_CONNECT_MKNOD`.
pub const _IO_CONNECT_MKNOD: u16 = 5;
/// `_IO_CONNECT_READLINK`.
pub const _IO_CONNECT_READLINK: u16 = 6;
/// `_IO_CONNECT_LINK`.
pub const _IO_CONNECT_LINK: u16 = 7;
/// `_IO_CONNECT_RSVD_UNBLOCK` (the connect table's `unblock` slot).
pub const _IO_CONNECT_RSVD_UNBLOCK: u16 = 8;
/// `_IO_CONNECT_MOUNT`.
pub const _IO_CONNECT_MOUNT: u16 = 9;

/// `_IO_FLAG_MASK`: the access bits of an `ioflag`.
pub const _IO_FLAG_MASK: u32 = 0x3;

/// `_IO_CONNECT_EFLAG_DIR`: the path named a directory (a trailing `/`).
pub const _IO_CONNECT_EFLAG_DIR: u8 = 0x01;
/// `_IO_CONNECT_EFLAG_DOT`.
pub const _IO_CONNECT_EFLAG_DOT: u8 = 0x02;
/// `_IO_CONNECT_EFLAG_DOTDOT`.
pub const _IO_CONNECT_EFLAG_DOTDOT: u8 = 0x04;

/// `_IO_CONNECT_RET_FLAG`: a connect reply that is not a plain success.
pub const _IO_CONNECT_RET_FLAG: u32 = 0x8000_0000;
/// `_IO_CONNECT_RET_LINK`.
pub const _IO_CONNECT_RET_LINK: u32 = 0x0001_0000;
/// `_IO_CONNECT_RET_FTYPE`.
pub const _IO_CONNECT_RET_FTYPE: u32 = 0x0000_8000;

/// `SH_COMPAT`, `SH_DENYRW`, `SH_DENYWR`, `SH_DENYRD`, `SH_DENYNO`, `SH_MASK`: share modes.
pub const SH_COMPAT: u16 = 0x00;
/// `SH_DENYRW`.
pub const SH_DENYRW: u16 = 0x10;
/// `SH_DENYWR`.
pub const SH_DENYWR: u16 = 0x20;
/// `SH_DENYRD`.
pub const SH_DENYRD: u16 = 0x30;
/// `SH_MASK`.
pub const SH_MASK: u16 = 0x70;

/// `ioflag` from a POSIX `oflag`: the access bits become `_IO_FLAG_*` (O_RDONLY 1, O_WRONLY 2,
/// O_RDWR 3), `O_CLOEXEC` is dropped.
pub fn ioflag_from_oflag(oflag: i32) -> u32 {
    let acc = libc::O_ACCMODE;
    // (Wrapping: the access bits of any value, i32::MAX's included, as C computes them.)
    ((oflag & !(acc | libc::O_CLOEXEC)) | (oflag.wrapping_add(1) & acc)) as u32
}

/// The POSIX `oflag` back from an `ioflag` (what `DCMD_ALL_GETFLAGS` answers).
pub fn oflag_from_ioflag(ioflag: u32) -> i32 {
    let acc = libc::O_ACCMODE;
    let io = ioflag as i32;
    // (Wrapping: a client's ioflag may be any value, 0x8000_0000 included.)
    (io & !acc) | (io.wrapping_sub(1) & acc)
}

// ---------------------------------------------------------------- xtypes

/// `_IO_XTYPE_NONE`.
pub const _IO_XTYPE_NONE: u32 = 0;
/// `_IO_XTYPE_READCOND`.
pub const _IO_XTYPE_READCOND: u32 = 1;
/// `_IO_XTYPE_OFFSET`: a `struct _xtype_offset` (pread/pwrite) follows the header.
pub const _IO_XTYPE_OFFSET: u32 = 5;
/// `_IO_XTYPE_MASK`.
pub const _IO_XTYPE_MASK: u32 = 0xff;
/// `_IO_XFLAG_NONBLOCK`.
pub const _IO_XFLAG_NONBLOCK: u32 = 0x4000;
/// `_IO_XFLAG_BLOCK`.
pub const _IO_XFLAG_BLOCK: u32 = 0x8000;

// ---------------------------------------------------------------- structures

/// `struct _io_read` / `struct _io_write` (16 bytes): the header of a read or write; a write's
/// data follows it. `_io_read64`'s `nbytes_hi` is `zero` here.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoRead {
    /// `_IO_READ` / `_IO_WRITE` (or the 64-bit forms).
    pub type_: u16,
    /// Size of this part (`_IO_COMBINE_FLAG`: another follows).
    pub combine_len: u16,
    /// Bytes asked for (low 32 bits).
    pub nbytes: u32,
    /// `_IO_XTYPE_*` and `_IO_XFLAG_*`.
    pub xtype: u32,
    /// 0, or `nbytes_hi` of `_IO_READ64`/`_IO_WRITE64`.
    pub zero: u32,
}

/// `struct _io_write`: the same 16 bytes as [`IoRead`].
pub type IoWrite = IoRead;

impl IoRead {
    /// A read (or write, with `_IO_WRITE`) of `n` bytes as a client sends it: the 64-bit form
    /// when `n` does not fit 32 bits.
    pub fn new(type_: u16, n: u64) -> IoRead {
        let big = n > u64::from(u32::MAX);
        let ty = match (type_, big) {
            (_IO_READ, true) => _IO_READ64,
            (_IO_WRITE, true) => _IO_WRITE64,
            (t, _) => t,
        };
        IoRead {
            type_: ty,
            combine_len: 16,
            nbytes: n as u32,
            xtype: _IO_XTYPE_NONE,
            zero: if big { (n >> 32) as u32 } else { 0 },
        }
    }

    /// `_IO_READ_GET_NBYTES` / `_IO_WRITE_GET_NBYTES`: the byte count, `nbytes_hi` included for
    /// the 64-bit forms.
    pub fn get_nbytes(&self) -> u64 {
        if self.type_ == _IO_READ64 || self.type_ == _IO_WRITE64 {
            (u64::from(self.zero) << 32) | u64::from(self.nbytes)
        } else {
            u64::from(self.nbytes)
        }
    }
}

/// `struct _xtype_offset`: the offset of a pread/pwrite (after the header).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct XtypeOffset {
    /// The file offset.
    pub offset: i64,
}

/// `struct _io_close` (4 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoClose {
    /// `_IO_CLOSE`.
    pub type_: u16,
    /// 4.
    pub combine_len: u16,
}

/// `struct _io_lseek` (16 bytes); the reply is the new offset (8 bytes).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoLseek {
    /// `_IO_LSEEK`.
    pub type_: u16,
    /// 16.
    pub combine_len: u16,
    /// `SEEK_SET`, `SEEK_CUR`, `SEEK_END`.
    pub whence: i16,
    /// 0.
    pub zero: u16,
    /// The offset (two's complement).
    pub offset: u64,
}

/// `struct _io_stat` (8 bytes); the reply is a `struct stat` (Linux's here).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoStat {
    /// `_IO_STAT`.
    pub type_: u16,
    /// 8.
    pub combine_len: u16,
    /// `_STAT_FORM_*` wanted (`_STAT_FORM_PREFERRED`).
    pub format: u32,
}

/// `_STAT_FORM_T64_2008` = `_STAT_FORM_PREFERRED` on 64-bit.
pub const _STAT_FORM_PREFERRED: u32 = 3;

/// `struct _io_devctl` (16 bytes); the data (`nbytes`) follows when the command sends some.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoDevctl {
    /// `_IO_DEVCTL`.
    pub type_: u16,
    /// 16.
    pub combine_len: u16,
    /// The command (`__DIOF`, `__DIOT`, `__DIOTF`, `__DION`).
    pub dcmd: i32,
    /// Bytes of data.
    pub nbytes: u32,
    /// 0.
    pub zero: i32,
}

/// `struct _io_devctl_reply` (16 bytes); the data follows it when the command returns some.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoDevctlReply {
    /// 0.
    pub zero: u32,
    /// What `devctl`'s `dev_info_ptr` gets.
    pub ret_val: i32,
    /// Bytes of data.
    pub nbytes: u32,
    /// 0.
    pub zero2: i32,
}

/// `struct __sigevent32` (16 bytes): the event of an `_io_notify`, in QNX's 32-bit form.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct SigEvent32 {
    /// `sigev_notify`.
    pub notify: i32,
    /// `sigev_signo`, or `sigev_coid` for a pulse.
    pub signo: i32,
    /// `sigev_value.sival_int`.
    pub value: i32,
    /// `sigev_code`.
    pub code: i16,
    /// `sigev_priority`.
    pub priority: i16,
}

impl From<&SigEvent> for SigEvent32 {
    fn from(e: &SigEvent) -> SigEvent32 {
        SigEvent32 {
            notify: e.sigev_notify,
            signo: e.sigev_signo as i32,
            value: e.sigev_value as u32 as i32,
            code: e.sigev_code,
            priority: e.sigev_priority,
        }
    }
}

impl From<&SigEvent32> for SigEvent {
    fn from(e: &SigEvent32) -> SigEvent {
        SigEvent {
            sigev_notify: e.notify,
            sigev_signo: i64::from(e.signo),
            sigev_value: u64::from(e.value as u32),
            sigev_code: e.code,
            sigev_priority: e.priority,
            ..SigEvent::NONE
        }
    }
}

/// `struct _io_notify` (64 bytes): `ionotify`'s message. The fields after `event` are `poll()`'s
/// (with `_NOTIFY_COND_EXTEN`); `ionotify` sends them zero.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoNotify {
    /// `_IO_NOTIFY`.
    pub type_: u16,
    /// 64.
    pub combine_len: u16,
    /// `_NOTIFY_ACTION_*`.
    pub action: i32,
    /// `_NOTIFY_COND_*` asked for.
    pub flags: i32,
    /// The event to deliver.
    pub event: SigEvent32,
    /// poll(): manager ids.
    pub mgr: [i32; 2],
    /// poll(): extra condition mask.
    pub flags_extra_mask: i32,
    /// poll(): `_NOTIFY_FLAGS_EXTEN_FIRST`.
    pub flags_exten: i32,
    /// poll(): descriptors.
    pub nfds: i32,
    /// poll(): first descriptor.
    pub fd_first: i32,
    /// poll(): ready descriptors.
    pub nfds_ready: i32,
    /// poll(): timeout.
    pub timo: i64,
}

/// `struct _io_notify_reply` (64 bytes): `flags` the conditions met.
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoNotifyReply {
    /// 0.
    pub zero: u32,
    /// `_NOTIFY_COND_*` met.
    pub flags: u32,
    /// Extended conditions.
    pub flags2: i32,
    /// The event (as sent).
    pub event: SigEvent32,
    /// poll(): manager ids.
    pub mgr: [i32; 2],
    /// poll(): extra condition mask.
    pub flags_extra_mask: i32,
    /// poll(): `_NOTIFY_FLAGS_EXTEN_FIRST`.
    pub flags_exten: i32,
    /// poll(): descriptors.
    pub nfds: i32,
    /// poll(): first descriptor.
    pub fd_first: i32,
    /// poll(): ready descriptors.
    pub nfds_ready: i32,
    /// poll(): timeout.
    pub timo: i64,
}

/// `struct _io_msg` (8 bytes): a private message on a resource manager's fd (`_IO_MSG`).
#[repr(C)]
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable,
)]
pub struct IoMsg {
    /// `_IO_MSG`.
    pub type_: u16,
    /// 8.
    pub combine_len: u16,
    /// `_IOMGR_*` (private: `_IOMGR_PRIVATE_BASE` and up).
    pub mgrid: u16,
    /// The manager's own subtype.
    pub subtype: u16,
}

/// `_IOMGR_PRIVATE_BASE`: the first manager id free for private `_IO_MSG`s.
pub const _IOMGR_PRIVATE_BASE: u16 = 0xF000;

const _: () = assert!(std::mem::size_of::<IoRead>() == 16);
const _: () = assert!(std::mem::size_of::<IoLseek>() == 16);
const _: () = assert!(std::mem::size_of::<IoDevctl>() == 16);
const _: () = assert!(std::mem::size_of::<IoDevctlReply>() == 16);
const _: () = assert!(std::mem::size_of::<IoNotify>() == 64);
const _: () = assert!(std::mem::offset_of!(IoNotify, event) == 12);
const _: () = assert!(std::mem::offset_of!(IoNotify, timo) == 56);
const _: () = assert!(std::mem::size_of::<IoNotifyReply>() == 64);

// ---------------------------------------------------------------- notify

/// `_NOTIFY_ACTION_TRANARM`: arm for a transition (edge).
pub const _NOTIFY_ACTION_TRANARM: i32 = 0;
/// `_NOTIFY_ACTION_CONDARM`: arm unless a condition is met already (met: answered with the
/// conditions, not armed; armed: the call fails with EAGAIN, as QNX's `iofunc_notify` answers).
pub const _NOTIFY_ACTION_CONDARM: i32 = 1;
/// `_NOTIFY_ACTION_POLL`: only ask.
pub const _NOTIFY_ACTION_POLL: i32 = 2;
/// `_NOTIFY_ACTION_POLLARM`: ask, and arm if nothing is met.
pub const _NOTIFY_ACTION_POLLARM: i32 = 3;
/// `_NOTIFY_ACTION_MASK`.
pub const _NOTIFY_ACTION_MASK: i32 = 3;
/// `_NOTIFY_COND_INPUT`: data to read.
pub const _NOTIFY_COND_INPUT: i32 = 0x1000_0000;
/// `_NOTIFY_COND_OUTPUT`: room to write.
pub const _NOTIFY_COND_OUTPUT: i32 = 0x2000_0000;
/// `_NOTIFY_COND_OBAND`: out-of-band data.
pub const _NOTIFY_COND_OBAND: i32 = 0x4000_0000;
/// `_NOTIFY_COND_EXTEN`: poll()'s extended conditions follow.
pub const _NOTIFY_COND_EXTEN: i32 = 0x8000_0000_u32 as i32;
/// `_NOTIFY_COND_MASK`.
pub const _NOTIFY_COND_MASK: i32 = 0xF000_0000_u32 as i32;
/// `_NOTIFY_DATA_MASK`.
pub const _NOTIFY_DATA_MASK: i32 = !_NOTIFY_COND_MASK;
/// `SI_NOTIFY`: the code of the pulse or signal `select` and `ionotify` users ask for.
pub const SI_NOTIFY: i16 = -6;

// ---------------------------------------------------------------- devctl

/// `_POSIX_DEVDIR_NONE` / `DEVDIR_NONE`.
pub const DEVDIR_NONE: u32 = 0;
/// `DEVDIR_TO`: data goes from client to server.
pub const DEVDIR_TO: u32 = 0x8000_0000;
/// `DEVDIR_FROM`: data comes from server to client.
pub const DEVDIR_FROM: u32 = 0x4000_0000;
/// `DEVDIR_TOFROM`.
pub const DEVDIR_TOFROM: u32 = 0xC000_0000;
/// `DEVDIR_CMD_MASK`.
pub const DEVDIR_CMD_MASK: u32 = 0x0000_FFFF;

/// `__DION(class, cmd)`: a command with no data.
pub const fn dion(class: u32, cmd: u32) -> i32 {
    ((class << 8) + cmd + DEVDIR_NONE) as i32
}
/// `__DIOF(class, cmd, data)`: data from the server, `size` bytes of it.
pub const fn diof(class: u32, cmd: u32, size: usize) -> i32 {
    (((size as u32) << 16) + (class << 8) + cmd + DEVDIR_FROM) as i32
}
/// `__DIOT(class, cmd, data)`: data to the server.
pub const fn diot(class: u32, cmd: u32, size: usize) -> i32 {
    (((size as u32) << 16) + (class << 8) + cmd + DEVDIR_TO) as i32
}
/// `__DIOTF(class, cmd, data)`: data both ways.
pub const fn diotf(class: u32, cmd: u32, size: usize) -> i32 {
    (((size as u32) << 16) + (class << 8) + cmd + DEVDIR_TOFROM) as i32
}
/// `get_device_command(dcmd)`.
pub const fn get_device_command(dcmd: i32) -> u32 {
    dcmd as u32 & DEVDIR_CMD_MASK
}
/// `get_device_direction(dcmd)`.
pub const fn get_device_direction(dcmd: i32) -> u32 {
    dcmd as u32 & DEVDIR_TOFROM
}

/// `_DCMD_ALL`: commands every resource manager may answer.
pub const _DCMD_ALL: u32 = 0x01;
/// `_DCMD_MISC`: the class user devices conventionally use.
pub const _DCMD_MISC: u32 = 0x05;
/// `DCMD_ALL_GETFLAGS` (`fcntl(F_GETFL)`).
pub const DCMD_ALL_GETFLAGS: i32 = diof(_DCMD_ALL, 1, 4);
/// `DCMD_ALL_SETFLAGS` (`fcntl(F_SETFL)`).
pub const DCMD_ALL_SETFLAGS: i32 = diot(_DCMD_ALL, 2, 4);
/// `DCMD_ALL_GETMOUNTFLAGS`.
pub const DCMD_ALL_GETMOUNTFLAGS: i32 = diof(_DCMD_ALL, 3, 4);
/// `DCMD_ALL_GETOWN`.
pub const DCMD_ALL_GETOWN: i32 = diof(_DCMD_ALL, 4, 4);
/// `DCMD_ALL_SETOWN`.
pub const DCMD_ALL_SETOWN: i32 = diot(_DCMD_ALL, 5, 4);
/// `DCMD_ALL_FADVISE`.
pub const DCMD_ALL_FADVISE: i32 = diot(_DCMD_ALL, 6, 24);

const _: () = assert!(DCMD_ALL_GETFLAGS as u32 == 0x4004_0101);
const _: () = assert!(DCMD_ALL_SETFLAGS as u32 == 0x8004_0102);
const _: () = assert!(DCMD_ALL_FADVISE as u32 == 0x8018_0106);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioflag_round_trips_the_access_modes() {
        assert_eq!(ioflag_from_oflag(libc::O_RDONLY), u32::from(_IO_FLAG_RD));
        assert_eq!(ioflag_from_oflag(libc::O_WRONLY), u32::from(_IO_FLAG_WR));
        assert_eq!(ioflag_from_oflag(libc::O_RDWR), _IO_FLAG_MASK);
        let o = libc::O_RDWR | libc::O_APPEND | libc::O_NONBLOCK;
        assert_eq!(oflag_from_ioflag(ioflag_from_oflag(o)), o);
        assert_eq!(
            ioflag_from_oflag(libc::O_RDONLY | libc::O_CLOEXEC),
            u32::from(_IO_FLAG_RD)
        );
    }

    #[test]
    fn big_reads_use_the_64_bit_form() {
        let r = IoRead::new(_IO_READ, 5 << 32 | 7);
        assert_eq!(r.type_, _IO_READ64);
        assert_eq!(r.get_nbytes(), 5 << 32 | 7);
        let w = IoRead::new(_IO_WRITE, 10);
        assert_eq!((w.type_, w.get_nbytes(), w.zero), (_IO_WRITE, 10, 0));
    }

    #[test]
    fn sigevents_survive_the_32_bit_form() {
        let e = SigEvent::pulse(5, 10, -6, 0x1234);
        let back = SigEvent::from(&SigEvent32::from(&e));
        assert_eq!(back, e);
    }
}
