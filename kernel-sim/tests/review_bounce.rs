//! An outside review of the region path for long messages between programs (calls/bounce.rs,
//! first made in 0bad46c). Its four findings, each a test here, are fixed:
//! * `a_seccomp_filter_that_kills_on_process_vm_does_not_kill_a_program_as_it_joins`: the
//!   join no longer probes with `process_vm_readv` (a sandbox may kill on it: systemd's
//!   `SystemCallFilter=` default action); any seccomp filter switches the kernel.
//! * `a_client_linux_refuses_process_vm_on_its_server_for_another_reason_switches_the_kernel`:
//!   Linux refuses `process_vm_*` for reasons no probe looks at (the caller lacks
//!   CAP_SYS_PTRACE and the target has capabilities it lacks, is not dumpable, or is another
//!   uid): the first refused copy (EPERM) switches the kernel, and the message goes through.
//! * `an_echo_of_9_mib_through_the_region_in_the_default_arena`: a reply frees the client's
//!   staged message first, so an echo needs the room of one copy (the tutorial's echo-server).
//! * `msg_read_after_msg_write_on_aliased_send_and_reply_buffers`: a MsgWrite into reply
//!   buffers that are the client's send buffers too is seen by a later MsgRead, as on QNX.
//!
//! And coverage: the killing filter with QNXSIM_LONG_COPIES=region, MsgWrite then a REPLY
//! timeout, MsgWrite then MsgError(ERESTART) and a re-send, the channel destroyed with a
//! message staged and writes recorded: writes applied or not as QNX would, no page left.
#![cfg(not(loom))]

mod support;

use std::time::Duration;
use support::*;

const WITHIN: Duration = Duration::from_secs(30);

fn pattern(i: usize) -> u8 {
    (i * 13 + 5) as u8
}

/// This program serving on a shared kernel switched to the region path, with a client program
/// in role "client" doing `op` (its first line is the client's report).
struct Scene {
    k: Kernel,
    t: ThreadCtx,
    chid: i32,
    child: Child,
    _guard: ReapOnPanic,
    _dir: TempDir,
}

impl Scene {
    fn new(tag: &str, region: bool, op: &str) -> Scene {
        let (dir, k, path) = shared(tag);
        if region {
            k.copy_long_messages_through_region().unwrap();
        }
        let (_me, t) = attach(&k);
        let chid = t.channel_create(0).unwrap();
        let child = Child::spawn(
            "client",
            &format!("{path} {} {chid} {op}", std::process::id()),
        );
        let guard = ReapOnPanic::new(&k, child.pid());
        Scene {
            k,
            t,
            chid,
            child,
            _guard: guard,
            _dir: dir,
        }
    }
}

/// Drops CAP_SYS_PTRACE from this process's effective and permitted sets (as any program of an
/// unprivileged user lacks it). Returns whether it had it.
fn drop_cap_sys_ptrace() -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const V3: u32 = 0x2008_0522;
    const BIT: u32 = 1 << 19; // CAP_SYS_PTRACE
    let mut h = Header {
        version: V3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and two data words, ours.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()),
            0
        );
        let had = d[0].permitted & BIT != 0;
        d[0].effective &= !BIT;
        d[0].permitted &= !BIT;
        d[0].inheritable &= !BIT;
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()),
            0,
            "capset: {}",
            std::io::Error::last_os_error()
        );
        had
    }
}

#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    let args: Vec<&str> = arg.split(' ').collect();
    let path = std::path::Path::new(args[0]);
    match role.as_str() {
        "killprobe" => {
            seccomp_on_process_vm(libc::SECCOMP_RET_KILL_PROCESS);
            tell_parent("filtered");
            let k = Kernel::open_shared(path).expect("open_shared");
            let (p, t) = attach(&k);
            tell_parent(&format!("joined {}", k.long_copies_through_region()));
            drop(t);
            let _ = k.process_destroy(p);
        }
        "noptrace" => {
            let had = drop_cap_sys_ptrace();
            if !had {
                // (No CAP_SYS_PTRACE to drop, and so neither has our parent: not dumpable, we
                // are out of its reach instead.)
                // SAFETY: prctl with integers.
                assert_eq!(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }, 0);
            }
            let (ppid, chid, ptid): (i32, i32, i32) = (
                args[1].parse().unwrap(),
                args[2].parse().unwrap(),
                args[3].parse().unwrap(),
            );
            let k = Kernel::open_shared(path).expect("open_shared");
            let (p, t) = attach(&k);
            let coid = connect(&t, ppid, chid);
            tell_parent(&format!("joined {} {had}", k.long_copies_through_region()));
            if had {
                // Our copy into the waiting parent is the one Linux refuses.
                wait_receive_blocked(&k, ppid, ptid);
            }
            let m: Vec<u8> = (0..1000).map(pattern).collect();
            let mut r = vec![0u8; 1000];
            let got = send(&t, coid, &m, &mut r);
            tell_parent(&format!("sent {}", res(got)));
            drop(t);
            let _ = k.process_destroy(p);
        }
        "client" => {
            let (ppid, chid): (i32, i32) = (args[1].parse().unwrap(), args[2].parse().unwrap());
            let k = Kernel::open_shared(path).expect("open_shared");
            let (p, t) = attach(&k);
            let coid = connect(&t, ppid, chid);
            match args[3] {
                "echo" => {
                    let n: usize = args[4].parse().unwrap();
                    let m: Vec<u8> = (0..n).map(pattern).collect();
                    let mut r = vec![0u8; n];
                    let got = send(&t, coid, &m, &mut r);
                    let ok = r.iter().zip(&m).all(|(r, m)| *r == m.wrapping_add(1));
                    tell_parent(&format!("echo {} {ok}", res(got)));
                }
                "timeout" => {
                    // REPLY timeout of 300 ms on a channel without _NTO_CHF_UNBLOCK.
                    let m: Vec<u8> = (0..1000).map(pattern).collect();
                    let mut r = vec![0xeeu8; 5000];
                    arm(&t, _NTO_TIMEOUT_REPLY, Some(300_000_000));
                    let got = t.msg_send(coid, &m, &mut r);
                    let ok = r
                        .iter()
                        .enumerate()
                        .all(|(i, &v)| v == if (100..3100).contains(&i) { 7 } else { 0xee });
                    tell_parent(&format!("timeout {} {ok}", res(got)));
                }
                "restart" => {
                    let m: Vec<u8> = (0..2000).map(pattern).collect();
                    let mut r = vec![0u8; 3000];
                    let got = send(&t, coid, &m, &mut r);
                    let ok = &r[..10] == b"restarted!"
                        && r[1000..1500].iter().all(|&v| v == 1)
                        && r[10..1000].iter().all(|&v| v == 0);
                    tell_parent(&format!("restart {} {ok}", res(got)));
                }
                "held" => {
                    let m: Vec<u8> = (0..3000).map(pattern).collect();
                    let mut r = vec![0u8; 3000];
                    let got = send(&t, coid, &m, &mut r);
                    let ok = r[..2000].iter().all(|&v| v == 4);
                    tell_parent(&format!("held {} {ok}", res(got)));
                }
                "alias" => {
                    // One buffer for the message and the reply, as QNX clients often do.
                    let mut buf: Vec<u8> = (0..1000).map(pattern).collect();
                    let iov = [Iov {
                        base: buf.as_mut_ptr() as u64,
                        len: buf.len() as u64,
                    }];
                    arm(&t, SEND_REPLY, Some(LONG));
                    // SAFETY: `buf` lives through the call and nothing else touches it.
                    let got = unsafe { t.msg_sendv_raw(coid, &iov, &iov) };
                    tell_parent(&format!("alias {}", res(got)));
                }
                other => panic!("unknown op {other}"),
            }
            drop(t);
            let _ = k.process_destroy(p);
        }
        other => panic!("unknown role {other}"),
    }
}

/// QNXSIM's probe must not itself make the call a sandbox kills on: a program whose filter
/// kills on process_vm_* joins (and its long messages then go through the region).
#[test]
fn a_seccomp_filter_that_kills_on_process_vm_does_not_kill_a_program_as_it_joins() {
    let (_dir, k, path) = shared("rb-killprobe");
    let (_me, _t) = attach(&k);
    let child = Child::spawn("killprobe", &path);
    let _guard = ReapOnPanic::new(&k, child.pid());
    assert_eq!(child.line(WITHIN), "filtered");
    let joined = child.line_within(Duration::from_secs(10));
    let st = child.wait(WITHIN);
    assert_eq!(
        joined.as_deref(),
        Some("joined true"),
        "the program died as it joined: {st:?}"
    );
    assert!(st.success());
}

/// Passing coverage (the workaround): told `QNXSIM_LONG_COPIES=region`, the same program
/// makes no probe and joins.
#[test]
fn told_region_a_program_whose_filter_kills_on_process_vm_joins() {
    let (_dir, k, path) = shared("rb-killprobe-env");
    let (_me, _t) = attach(&k);
    let child = Child::spawn_with_env("killprobe", &path, &[("QNXSIM_LONG_COPIES", "region")]);
    let _guard = ReapOnPanic::new(&k, child.pid());
    assert_eq!(child.line(WITHIN), "filtered");
    assert_eq!(child.line(WITHIN), "joined true");
    assert!(child.wait(WITHIN).success());
}

/// Linux refuses a client's process_vm_writev on its server when the client lacks
/// CAP_SYS_PTRACE and the server holds capabilities the client does not (or, without
/// CAP_SYS_PTRACE anywhere, a server's read of a client that is not dumpable): nothing at the
/// join says so, but the refused copy (EPERM) switches the kernel, and the message, sent again
/// through the region, reaches the server.
#[test]
fn a_client_linux_refuses_process_vm_on_its_server_for_another_reason_switches_the_kernel() {
    let (_dir, k, path) = shared("rb-noptrace");
    let (_me, t) = attach(&k);
    let chid = t.channel_create(0).unwrap();
    let child = Child::spawn(
        "noptrace",
        &format!("{path} {} {chid} {}", std::process::id(), t.tid()),
    );
    let _guard = ReapOnPanic::new(&k, child.pid());
    let joined = child.line(WITHIN);
    if joined.ends_with("false") {
        // No CAP_SYS_PTRACE anywhere: the child made itself not dumpable, and its message
        // queues; our read of it is the one Linux refuses.
        wait_send_blocked(&k, child.pid(), 1);
    }
    let mut buf = vec![0u8; 2000];
    let mut info = MsgInfo::default();
    let got = receive(&t, chid, &mut buf, Some(&mut info));
    if let Ok(rcvid) = got {
        t.msg_reply(rcvid, 0, b"").unwrap();
    }
    let sent = child.line(WITHIN);
    assert!(child.wait(WITHIN).success());
    assert!(
        k.long_copies_through_region(),
        "the refused copy switched the kernel"
    );
    assert!(
        got.is_ok() && sent == "sent ok:0",
        "a 1000-byte message from a program Linux forbids process_vm_* on us: receive {got:?}, \
         client {sent:?}, kernel switched: {} ({joined})",
        k.long_copies_through_region()
    );
}

/// The tutorial's echo-server (MsgReceive, MsgRead the rest, MsgReply it all, up to 16 MiB)
/// run with QNXSIM_LONG_COPIES=region in the default arena (16 MiB): the client's 9 MiB
/// message stays staged while the reply needs 9 MiB more.
#[test]
fn an_echo_of_9_mib_through_the_region_in_the_default_arena() {
    let n = 9 << 20;
    let Scene {
        k,
        t,
        chid,
        child,
        _guard,
        _dir,
    } = Scene::new("rb-echo", true, &format!("echo {n}"));
    let mut buf = vec![0u8; 64 << 10];
    let mut info = MsgInfo::default();
    let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    assert_eq!(info.srcmsglen, n as i64);
    let mut all = vec![0u8; n];
    assert_eq!(t.msg_read(rcvid, &mut all, 0), Ok(n));
    let back: Vec<u8> = all.iter().map(|b| b.wrapping_add(1)).collect();
    let r = t.msg_reply(rcvid, n as i64, &back);
    if r.is_err() {
        t.msg_error(rcvid, Errno::EIO).unwrap();
    }
    let said = child.line(WITHIN);
    assert!(child.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0));
    assert_eq!(r, Ok(()), "MsgReply of 9 MiB (client: {said})");
}

/// MsgWrite into a client whose reply buffer is its send buffer, then MsgRead: QNX and both
/// paths read what was written.
#[test]
fn msg_read_after_msg_write_on_aliased_send_and_reply_buffers() {
    for region in [false, true] {
        let (_dir, k, path) = shared("rb-alias");
        if region {
            k.copy_long_messages_through_region().unwrap();
        } else if k.long_copies_through_region() {
            continue;
        }
        let (_me, t) = attach(&k);
        let chid = t.channel_create(0).unwrap();
        let child = Child::spawn(
            "client",
            &format!("{path} {} {chid} alias", std::process::id()),
        );
        let _guard = ReapOnPanic::new(&k, child.pid());
        let mut buf = vec![0u8; 64];
        let rcvid = receive(&t, chid, &mut buf, None).expect("MsgReceive");
        assert_eq!(t.msg_write(rcvid, &[0x55u8; 300], 0), Ok(300));
        let mut back = vec![0u8; 300];
        assert_eq!(t.msg_read(rcvid, &mut back, 0), Ok(300));
        t.msg_reply(rcvid, 0, b"").unwrap();
        assert_eq!(child.line(WITHIN), "alias ok:0");
        assert!(child.wait(WITHIN).success());
        assert!(
            back.iter().all(|&v| v == 0x55),
            "region path {region}: MsgRead after MsgWrite read {:?}...",
            &back[..8]
        );
    }
}

/// Passing coverage: MsgWrite, then the client's REPLY timeout (no _NTO_CHF_UNBLOCK): the
/// client leaves with ETIMEDOUT with the write in its buffer (as on QNX), its staged message
/// and the write's block are freed, and the rcvid is gone.
#[test]
fn msg_write_then_a_reply_timeout_applies_the_write_and_frees_every_block() {
    let Scene {
        k,
        t,
        chid,
        child,
        _guard,
        _dir,
    } = Scene::new("rb-timeout", true, "timeout");
    let mut buf = vec![0u8; 64];
    let mut info = MsgInfo::default();
    let rcvid = receive(&t, chid, &mut buf, Some(&mut info)).expect("MsgReceive");
    assert_eq!(
        (info.msglen, info.srcmsglen, info.dstmsglen),
        (64, 1000, 5000)
    );
    assert_eq!(t.msg_write(rcvid, &[7u8; 3000], 100), Ok(3000));
    assert!(arena_use(&k).1 >= 2, "staged message and the write");
    assert_eq!(child.line(WITHIN), "timeout ETIMEDOUT true");
    assert_eq!(arena_use(&k), (0, 0));
    let mut all = vec![0u8; 1000];
    assert_eq!(t.msg_read(rcvid, &mut all, 0), Err(Errno::ESRCH));
    assert_eq!(t.msg_write(rcvid, b"x", 0), Err(Errno::ESRCH));
    assert!(child.wait(WITHIN).success());
}

/// Passing coverage: MsgWrite then MsgError(ERESTART): the client sends again (a new staged
/// message), the write stays in its buffer, the short reply lands over it; nothing left.
#[test]
fn msg_error_erestart_resends_through_a_new_block_and_keeps_the_earlier_write() {
    let Scene {
        k,
        t,
        chid,
        child,
        _guard,
        _dir,
    } = Scene::new("rb-restart", true, "restart");
    let mut buf = vec![0u8; 64];
    let rcvid = receive(&t, chid, &mut buf, None).expect("MsgReceive");
    assert_eq!(t.msg_write(rcvid, &[1u8; 500], 1000), Ok(500));
    t.msg_error(rcvid, Errno::ERESTART).unwrap();
    let mut info = MsgInfo::default();
    let rcvid2 = receive(&t, chid, &mut buf, Some(&mut info)).expect("the re-send");
    assert_eq!(info.srcmsglen, 2000);
    let mut all = vec![0u8; 2000];
    assert_eq!(t.msg_read(rcvid2, &mut all, 0), Ok(2000));
    assert!(all.iter().enumerate().all(|(i, &v)| v == pattern(i)));
    assert_eq!(
        t.msg_read(rcvid, &mut all, 0),
        Err(Errno::ESRCH),
        "the old rcvid"
    );
    t.msg_reply(rcvid2, 5, b"restarted!").unwrap();
    assert_eq!(child.line(WITHIN), "restart ok:5 true");
    assert!(child.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0));
}

/// Passing coverage: the server's channel destroyed while it holds a client with a staged
/// message and a write recorded: the client leaves (ESRCH... as the kernel says), with the
/// write applied, and no page stays.
#[test]
fn channel_destroyed_with_a_staged_message_and_writes_leaves_no_page() {
    let Scene {
        k,
        t,
        chid,
        child,
        _guard,
        _dir,
    } = Scene::new("rb-chdestroy", true, "held");
    let mut buf = vec![0u8; 64];
    let rcvid = receive(&t, chid, &mut buf, None).expect("MsgReceive");
    assert_eq!(t.msg_write(rcvid, &[4u8; 2000], 0), Ok(2000));
    t.channel_destroy(chid).unwrap();
    let said = child.line(WITHIN);
    assert!(
        said.starts_with("held ") && said.ends_with(" true"),
        "{said}"
    );
    assert!(!said.starts_with("held ok"), "{said}");
    assert!(child.wait(WITHIN).success());
    assert_eq!(arena_use(&k), (0, 0));
}
