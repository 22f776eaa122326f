//! Error numbers as kernel calls return them.
//!
//! POSIX errors carry Linux's numbers (a ported C program compares `errno` with Linux's
//! `<errno.h>`); the QNX-only errors carry QNX's numbers, which Linux does not use
//! (`ENOREMOTE` 300, `ESRVRFAULT` 312). `EOK` is 0.

use std::fmt;

/// An error number. Kernel calls return `Result<_, Errno>` (where QNX's C calls return -1 and set
/// `errno`, or return the negative errno in their `_r` forms).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl Errno {
            $(#[doc = $text] pub const $name: Errno = Errno($val);)*

            /// The constant's name, e.g. `"ESRCH"`, if this is one of ours.
            pub fn name(self) -> Option<&'static str> {
                $(if self.0 == $val { return Some(stringify!($name)); })* None
            }

            fn text(self) -> Option<&'static str> {
                $(if self.0 == $val { return Some($text); })* None
            }
        }
    };
}

errnos! {
    EOK = 0, "No error";
    EPERM = libc::EPERM, "Operation not permitted";
    ENOENT = libc::ENOENT, "No such file or directory";
    ESRCH = libc::ESRCH, "No such process (or no such channel, rcvid or connection)";
    EINTR = libc::EINTR, "Interrupted function call";
    EIO = libc::EIO, "I/O error";
    ENXIO = libc::ENXIO, "No such device or address (target process is terminating)";
    EBADF = libc::EBADF, "Bad file descriptor (connection invalid or its channel gone)";
    EAGAIN = libc::EAGAIN, "Resource temporarily unavailable";
    ENOMEM = libc::ENOMEM, "Not enough memory";
    EACCES = libc::EACCES, "Permission denied";
    EFAULT = libc::EFAULT, "Bad address";
    EBUSY = libc::EBUSY, "Resource busy";
    EEXIST = libc::EEXIST, "File exists";
    EINVAL = libc::EINVAL, "Invalid argument";
    ENFILE = libc::ENFILE, "Too many open files in system";
    EMFILE = libc::EMFILE, "Too many open files";
    EDEADLK = libc::EDEADLK, "Resource deadlock avoided";
    ENOSYS = libc::ENOSYS, "Function not implemented";
    EMSGSIZE = libc::EMSGSIZE, "Message too long";
    ENAMETOOLONG = libc::ENAMETOOLONG, "File name too long";
    EBADMSG = libc::EBADMSG, "Bad message (what QNX servers answer a malformed request)";
    EOVERFLOW = libc::EOVERFLOW, "Value too large (iov lengths overflow)";
    ETIMEDOUT = libc::ETIMEDOUT, "Timed out";
    ERESTART = libc::ERESTART, "Restart the call";
    ECANCELED = libc::ECANCELED, "Operation canceled";
    ENOTSUP = libc::ENOTSUP, "Not supported";
    ENOTDIR = libc::ENOTDIR, "Not a directory";
    EISDIR = libc::EISDIR, "Is a directory";
    ENOTTY = libc::ENOTTY, "Inappropriate I/O control operation (devctl the server does not know)";
    ENOSPC = libc::ENOSPC, "No space left on device";
    ESPIPE = libc::ESPIPE, "Illegal seek";
    EROFS = libc::EROFS, "Read-only file system";
    ENOREMOTE = 300, "Must be done on local machine";
    ESRVRFAULT = 312, "Server fault on message pass";
}

impl Errno {
    /// The raw number.
    pub fn raw(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.name(), self.text()) {
            (Some(n), Some(t)) => write!(f, "{n}: {t}"),
            _ => write!(f, "{}", std::io::Error::from_raw_os_error(self.0)),
        }
    }
}

impl std::error::Error for Errno {}

impl From<Errno> for std::io::Error {
    fn from(e: Errno) -> Self {
        std::io::Error::from_raw_os_error(e.0)
    }
}

/// A kernel call's result.
pub type KResult<T> = Result<T, Errno>;
