//! The parent's side of the conformance tests across Linux programs (`shared_conformance.rs`,
//! `shared_conformance2.rs`): a shared kernel in a memory file, the test program joined to
//! it, bounded receives, a loose check of a timeout's length, and the guard that tears a child
//! program's processes down if a test fails while our threads may wait on it without a bound.

use super::{
    receive, Config, KResult, Kernel, MsgInfo, Pid, RcvId, TempDir, ThreadCtx, _NTO_SIDE_CHANNEL,
};
use std::fmt::Display;
use std::time::Duration;

/// A shared kernel of `cfg` in a memory file of a new temporary directory (kept alive by the
/// returned `TempDir`), and the file's path for the children.
pub fn shared_with(tag: &str, cfg: Config) -> (TempDir, Kernel, String) {
    let dir = TempDir::new(tag);
    let path = dir.join("kernel");
    let k = Kernel::create_shared(&path, cfg).expect("create_shared");
    let path = path.to_str().expect("a UTF-8 path").to_string();
    (dir, k, path)
}

/// [`shared_with`] the default configuration.
pub fn shared(tag: &str) -> (TempDir, Kernel, String) {
    shared_with(tag, Config::default())
}

/// The test program joins its kernel, with a thread at priority 10.
pub fn attach(k: &Kernel) -> (Pid, ThreadCtx) {
    let me = k.process_attach_self().expect("process_attach_self");
    let t = k.thread_attach(me, 10).expect("thread_attach");
    (me, t)
}

/// A side-channel coid of `t`'s process to `pid`'s channel `chid`.
pub fn connect(t: &ThreadCtx, pid: i32, chid: i32) -> i32 {
    t.connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0)
        .unwrap_or_else(|e| panic!("ConnectAttach to {pid}/{chid}: {e:?}"))
}

/// A message received (bounded) on `chid`: its rcvid, MsgInfo and bytes.
pub fn take(t: &ThreadCtx, chid: i32) -> (RcvId, MsgInfo, Vec<u8>) {
    let mut buf = [0u8; 64];
    let mut info = MsgInfo::default();
    let rcvid = receive(t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    assert!(rcvid > 0, "expected a message, got a pulse");
    (rcvid, info, buf[..info.msglen as usize].to_vec())
}

/// A timed-out call took at least what was asked, and not wildly more (a loose bound: the
/// machine may be loaded).
pub fn about(took: Duration, asked_ns: u64) {
    let asked = Duration::from_nanos(asked_ns);
    assert!(took >= asked, "timed out early: {took:?} < {asked:?}");
    assert!(
        took < asked + Duration::from_secs(5),
        "timed out far too late: {took:?}"
    );
}

/// If the test fails, tears down every simulated process of the child program `os_pid` (as
/// the supervisor does for a program that ends), so that our threads blocked on it without a
/// bound leave with ESRCH.
pub struct ReapOnPanic {
    k: Kernel,
    os_pid: i32,
}

impl ReapOnPanic {
    /// The guard for the child program whose Linux pid is `os_pid`.
    pub fn new(k: &Kernel, os_pid: i32) -> ReapOnPanic {
        ReapOnPanic {
            k: k.clone(),
            os_pid,
        }
    }
}

impl Drop for ReapOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.k.reap_os_process(self.os_pid);
        }
    }
}

/// A kernel call's result as a child reports it: `ok:VALUE`, or the errno's name.
pub fn res<T: Display>(r: KResult<T>) -> String {
    match r {
        Ok(v) => format!("ok:{v}"),
        Err(e) => e
            .name()
            .map_or_else(|| format!("errno{}", e.0), str::to_string),
    }
}

/// [`res`] for a call that returns nothing: `ok:0`.
pub fn done(r: KResult<()>) -> String {
    res(r.map(|()| 0))
}

/// Pages of a shared kernel's queue arena in use, and of them those of long messages in flight
/// through the region (calls/bounce.rs).
pub fn arena_use(k: &Kernel) -> (u32, u32) {
    let q = k.listing().queue_pages.expect("a shared kernel's arena");
    (q.in_use, q.long_messages)
}

/// Installs, for every thread of this program, a seccomp filter that answers
/// `process_vm_readv` and `process_vm_writev` with `action` (a `SECCOMP_RET_*`, with an errno
/// for `SECCOMP_RET_ERRNO`), as a sandbox would.
pub fn seccomp_on_process_vm(action: u32) {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf: 0,
        k,
    };
    let filter = [
        // The system call's number (`seccomp_data.nr`, at offset 0).
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jeq(libc::SYS_process_vm_readv as u32, 2),
        jeq(libc::SYS_process_vm_writev as u32, 1),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(libc::BPF_RET | libc::BPF_K, action),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: prctl with integers; seccomp(2) reads `prog`, which outlives the call.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::SECCOMP_FILTER_FLAG_TSYNC,
                &prog as *const libc::sock_fprog,
            ),
            0,
            "seccomp: {}",
            std::io::Error::last_os_error()
        );
    }
}
