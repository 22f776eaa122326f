//! `<sys/slog.h>`: QNX's system log, where there is no slogger: `vslogf` (which the header's
//! `static inline` `slogf` calls, stable Rust defining no C-variadic function) and `slogb`.
//!
//! Where a message goes: Linux's syslog (`syslog(3)` with the severity mapped: `_SLOG_SHUTDOWN`
//! `LOG_EMERG`, `_SLOG_CRITICAL` `LOG_CRIT`, `_SLOG_ERROR` `LOG_ERR`, `_SLOG_WARNING`
//! `LOG_WARNING`, `_SLOG_NOTICE` `LOG_NOTICE`, `_SLOG_INFO` `LOG_INFO`, `_SLOG_DEBUG1` and
//! `_SLOG_DEBUG2` `LOG_DEBUG`), and also to stderr, one line
//! `PROGRAM: slog MAJOR.MINOR SEVERITY: MESSAGE`, when [`SLOG_ENV`] is `stderr`; with
//! [`SLOG_ENV`] `off`, nowhere (the call still formats and returns the size).
//!
//! Both return the size of the message logged (bytes; a message is cut at [`MAX_MESSAGE`]),
//! or -1 with `errno`: EINVAL for a NULL format or data pointer, a severity outside 0..=7 or
//! a negative size.

use kernel_sim::{Errno, KResult};
use libc::{c_char, c_int, c_void, size_t};
use std::io::Write;

/// The variable that says where messages go besides syslog: `stderr` (there too), `off`
/// (nowhere, not even syslog).
pub const SLOG_ENV: &str = "QNXSIM_SLOG";

/// The longest message logged, in bytes (a longer one is cut to this).
pub const MAX_MESSAGE: usize = 1023;

/// The severities' names, `_SLOG_SHUTDOWN` (0) to `_SLOG_DEBUG2` (7).
const NAMES: [&str; 8] = [
    "SHUTDOWN", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG1", "DEBUG2",
];

/// syslog's priority for a QNX severity.
const SYSLOG: [c_int; 8] = [
    libc::LOG_EMERG,
    libc::LOG_CRIT,
    libc::LOG_ERR,
    libc::LOG_WARNING,
    libc::LOG_NOTICE,
    libc::LOG_INFO,
    libc::LOG_DEBUG,
    libc::LOG_DEBUG,
];

extern "C" {
    /// libc's `vsnprintf`, its `va_list` passed on untouched as the pointer the C ABI passes
    /// (x86-64: a pointer to the one-element array; AArch64: the 32-byte struct is passed by
    /// reference, a pointer too).
    #[link_name = "vsnprintf"]
    fn c_vsnprintf(buf: *mut c_char, n: size_t, fmt: *const c_char, ap: *mut c_void) -> c_int;
}

/// Where messages go, from [`SLOG_ENV`]: (to syslog, to stderr).
fn sinks() -> (bool, bool) {
    match std::env::var_os(SLOG_ENV) {
        Some(v) if v == "stderr" => (true, true),
        Some(v) if v == "off" => (false, false),
        _ => (true, false),
    }
}

/// Sends `msg` (no NUL inside: cut at the first) where [`sinks`] says; its size.
fn log(opcode: c_int, severity: c_int, msg: &[u8]) -> KResult<c_int> {
    let sev = usize::try_from(severity)
        .ok()
        .filter(|&s| s < NAMES.len())
        .ok_or(Errno::EINVAL)?;
    let msg = &msg[..msg.iter().position(|&b| b == 0).unwrap_or(msg.len())];
    let (to_syslog, to_stderr) = sinks();
    if to_syslog {
        let mut c = Vec::with_capacity(msg.len() + 1);
        c.extend_from_slice(msg);
        c.push(0);
        // SAFETY: a "%s" format with one NUL-terminated string, as syslog(3) takes them.
        unsafe { libc::syslog(SYSLOG[sev], c"%s".as_ptr(), c.as_ptr()) };
    }
    if to_stderr {
        let prog = std::env::args_os()
            .next()
            .map(|a| {
                std::path::Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let code = opcode as u32;
        let mut line = format!(
            "{prog}: slog {}.{} {}: ",
            code >> 8,
            code & 0xff,
            NAMES[sev]
        )
        .into_bytes();
        line.extend_from_slice(msg);
        line.push(b'\n');
        // One write, so that lines of several threads do not mix.
        let _ = std::io::stderr().lock().write_all(&line);
    }
    Ok(msg.len() as c_int)
}

/// `vslogf(opcode, severity, fmt, ap)`: formats as `vprintf` does and logs the message (see
/// the module's text for where); its size, or -1 and `errno` (EINVAL: NULL `fmt`, a severity
/// outside `_SLOG_SHUTDOWN..=_SLOG_DEBUG2`).
///
/// # Safety
/// `fmt` is NULL or a format string whose conversions match the arguments `ap` holds, as for
/// `vprintf`; `ap` is the caller's `va_list`, used once (the caller must not use it after).
#[no_mangle]
pub unsafe extern "C" fn vslogf(
    opcode: c_int,
    severity: c_int,
    fmt: *const c_char,
    ap: *mut c_void,
) -> c_int {
    if fmt.is_null() || !(0..8).contains(&severity) {
        crate::set_errno(Errno::EINVAL);
        return -1;
    }
    let mut buf = [0u8; MAX_MESSAGE + 1];
    // SAFETY: `buf` is writable for its length; `fmt` and `ap` are our caller's, as vsnprintf
    // takes them (see the `# Safety` section).
    let n = unsafe { c_vsnprintf(buf.as_mut_ptr().cast(), buf.len(), fmt, ap) };
    if n < 0 {
        // errno set by vsnprintf (EILSEQ, EOVERFLOW).
        return -1;
    }
    let len = (n as usize).min(MAX_MESSAGE);
    crate::plain(unbound(|| log(opcode, severity, &buf[..len])))
}

/// `slogb(opcode, severity, data, size)`: logs `size` bytes of binary data, written as hex
/// (`slogb: 01 02 ...`, cut at [`MAX_MESSAGE`]); the size of that message, or -1 and `errno`
/// (EINVAL: NULL `data` with a size, a negative size, a severity outside 0..=7).
///
/// # Safety
/// `data` is NULL (with `size` 0) or readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn slogb(
    opcode: c_int,
    severity: c_int,
    data: *mut c_void,
    size: c_int,
) -> c_int {
    let Ok(size) = usize::try_from(size) else {
        crate::set_errno(Errno::EINVAL);
        return -1;
    };
    if data.is_null() && size > 0 {
        crate::set_errno(Errno::EINVAL);
        return -1;
    }
    let bytes: &[u8] = if size == 0 {
        &[]
    } else {
        // SAFETY: non-NULL and readable for `size` bytes (our caller's promise).
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) }
    };
    let mut text = String::from("slogb:");
    for b in bytes {
        if text.len() + 3 > MAX_MESSAGE {
            break;
        }
        text.push_str(&format!(" {b:02x}"));
    }
    crate::plain(unbound(|| log(opcode, severity, text.as_bytes())))
}

/// Runs `f`, a panic in it an EFAULT, as `crate::guard` does but without binding the calling
/// thread: logging needs no kernel, and a log line must not make or join one (with
/// `QNXSIM_KERNEL` naming a kernel, the binding would create its memory file or start a
/// supervisor).
fn unbound<T>(f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(Errno::EFAULT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_out_of_range_are_einval() {
        assert_eq!(log(0, 8, b"x"), Err(Errno::EINVAL));
        assert_eq!(log(0, -1, b"x"), Err(Errno::EINVAL));
    }
}
