//! Programs on one shared kernel through userlib alone: with `QNXSIM_KERNEL` naming a file,
//! the default kernel is the shared one and a program's default process is its own, with its
//! Linux pid as pid. A server program and a client program (this test binary re-run in two
//! roles, bounded and killed on every exit path; kernel-sim's tests/support/procs.rs) talk
//! with QNX's calls only; the server's threads spawned with `userlib::spawn` belong to its
//! process; when the server exits, its process leaves the kernel.

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use procs::{child_role, child_setup, tell_parent, Child, TempDir};
use std::time::{Duration, Instant};
use userlib::consts::*;
use userlib::qnx::*;

const WITHIN: Duration = Duration::from_secs(20);
/// Bound on every blocking call of the children (ns).
const LONG_NS: u64 = 10_000_000_000;

fn server() {
    let pid = getpid().expect("getpid");
    assert_eq!(
        pid,
        std::process::id() as i32,
        "a program's pid is its Linux pid"
    );
    // A thread spawned with userlib::spawn is a thread of this process.
    let spawned = userlib::spawn(|| (getpid(), gettid()))
        .expect("spawn")
        .join()
        .expect("join");
    let chid = channel_create(0).expect("ChannelCreate");
    tell_parent(&format!(
        "ready {pid} {chid} spawned {:?} {:?} main-tid {:?}",
        spawned.0,
        spawned.1,
        gettid()
    ));
    let mut buf = [0u8; 64];
    loop {
        timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).expect("arm");
        let mut info = MsgInfo::default();
        let rcvid = msg_receive(chid, &mut buf, Some(&mut info)).expect("MsgReceive");
        let msg = &buf[..info.msglen as usize];
        if msg == b"quit" {
            msg_reply(rcvid, 0, b"").expect("MsgReply");
            return; // A normal exit: the process leaves the kernel.
        }
        let up = msg.to_ascii_uppercase();
        msg_reply(rcvid, info.pid.into(), &up).expect("MsgReply");
    }
}

fn client(arg: &str) {
    let mut it = arg.split(' ').map(|s| s.parse::<i32>().expect("a number"));
    let (pid, chid) = (it.next().expect("pid"), it.next().expect("chid"));
    let coid = connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0).expect("ConnectAttach");
    let send = |m: &[u8], r: &mut [u8]| {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(LONG_NS),
        )
        .expect("arm");
        msg_send(coid, m, r)
    };
    let mut r = [0u8; 16];
    let st = send(b"hello", &mut r).expect("MsgSend");
    tell_parent(&format!(
        "reply {} status-is-my-pid {}",
        String::from_utf8_lossy(&r[..5]),
        st == i64::from(getpid().expect("getpid"))
    ));
    send(b"quit", &mut []).expect("MsgSend quit");
    // The server exits: its process leaves the kernel (atexit), and then so has its channel.
    let until = Instant::now() + WITHIN;
    let gone = loop {
        match connect_attach(0, pid, chid, _NTO_SIDE_CHANNEL, 0) {
            Err(e) => break e,
            Ok(c) => {
                let _ = connect_detach(c);
                assert!(Instant::now() < until, "the server's process never left");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    tell_parent(&format!("gone {gone:?} then {:?}", send(b"again", &mut r)));
}

/// Where a child starts; ignored in a normal run.
#[test]
#[ignore = "the entry point of this binary's child processes, not a test of its own"]
fn child_entry() {
    let Some((role, arg)) = child_role() else {
        return;
    };
    child_setup();
    match role.as_str() {
        "server" => server(),
        "client" => client(&arg),
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_server_program_and_a_client_program_share_one_kernel_through_the_environment() {
    let dir = TempDir::new("userlib");
    let path = dir.join("kernel");
    let path = path.to_str().expect("a UTF-8 path");
    let env = [(userlib::current::KERNEL_ENV, path)];
    // The server is the first program: it creates the kernel.
    let server = Child::spawn_with_env("server", "", &env);
    let line = server.line(WITHIN);
    let words: Vec<&str> = line.split(' ').collect();
    let (pid, chid) = match words[..] {
        ["ready", pid, chid, "spawned", ..] => (pid, chid),
        _ => panic!("unexpected line {line:?}"),
    };
    assert_eq!(
        pid,
        server.pid().to_string(),
        "the server's pid is its Linux pid"
    );
    // The spawned thread has the server's pid.
    assert!(
        line.contains(&format!("spawned Ok({pid}) Ok(")),
        "a thread spawned with userlib::spawn belongs to the process: {line}"
    );
    assert!(std::path::Path::new(path).exists());

    let client = Child::spawn_with_env("client", &format!("{pid} {chid}"), &env);
    assert_eq!(client.line(WITHIN), "reply HELLO status-is-my-pid true");
    assert!(server.wait(WITHIN).success(), "the server exits normally");
    assert_eq!(client.line(WITHIN), "gone ESRCH then Err(EBADF)");
    assert!(client.wait(WITHIN).success());
}
