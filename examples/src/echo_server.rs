//! An echo server as a QNX program of its own: run it, then run `echo-client` (another
//! program) against the pid and chid it prints. Both find one kernel through `QNXSIM_KERNEL`
//! (a name: the kernel the supervisor `procnto-sim` keeps, started by the first program; or
//! the path of a memory file); without it, each program would have a kernel of its own.
//!
//! ```text
//! export QNXSIM_KERNEL=demo
//! echo-server &                       # prints: echo-server: pid 4211 chid 1
//! echo-client 4211 1 hello world      # prints: HELLO, WORLD
//! echo-client --quit 4211 1           # the server ends
//! ```
//!
//! The server answers each message with it in upper case (status: its length), a message
//! "quit" with 0 before ending, and counts the clients that disconnect
//! (`_NTO_CHF_DISCONNECT`), detaching each one's scoid as QNX servers do. A message longer than
//! its 64 KiB receive buffer arrives in part: the server reads the rest with MsgRead, as QNX
//! servers do (up to 16 MiB; a longer one is refused with EMSGSIZE, not echoed cut short). A client that dies
//! between its send and the reply (killed while REPLY-blocked) makes the reply fail with
//! `ESRCH`; as QNX servers do, the server notes it and goes on serving. `--hold-ms` holds each
//! reply that long (the client stays REPLY-blocked: watch it with `pidin-sim`). It never waits
//! unbounded: `--idle` ends it after that long without a message.

use clap::Parser;
use examples::{Context, Failure};
use userlib::consts::*;
use userlib::qnx::*;
use userlib::MsgInfo;

#[derive(Parser, Debug)]
#[command(
    name = "echo-server",
    version,
    about = "An echo server, a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// Seconds without a message after which the server ends, 1 to 86400.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle: u64,
    /// Milliseconds to hold each reply, 0 to 60000: the client stays REPLY-blocked meanwhile.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    hold_ms: u64,
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("echo-server: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    if std::env::var_os(userlib::current::KERNEL_ENV).is_none() {
        eprintln!(
            "echo-server: {} is not set: this kernel is this program's alone, and no other program can reach it",
            userlib::current::KERNEL_ENV
        );
    }
    let chid = channel_create(_NTO_CHF_DISCONNECT).context(|| "ChannelCreate")?;
    let pid = getpid().context(|| "getpid")?;
    println!("echo-server: pid {pid} chid {chid}");
    let mut buf = vec![0u8; 65_536];
    let mut disconnects = 0u32;
    loop {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(args.idle * 1_000_000_000),
        )
        .context(|| "TimerTimeout")?;
        let mut info = MsgInfo::default();
        let rcvid = match msg_receive(chid, &mut buf, Some(&mut info)) {
            Err(userlib::Errno::ETIMEDOUT) => {
                println!("echo-server: no message for {} s: ending", args.idle);
                return Ok(());
            }
            r => r.context(|| "MsgReceive")?,
        };
        if rcvid == 0 {
            let p =
                userlib::Pulse::from_bytes(&buf).ok_or_else(|| Failure::new("a short pulse"))?;
            if p.code == _PULSE_CODE_DISCONNECT {
                // As QNX servers do: let go of the client's scoid, which the kernel keeps
                // until the server detaches it.
                connect_detach(p.scoid).context(|| "ConnectDetach of the scoid")?;
                disconnects += 1;
                println!("echo-server: a client disconnected ({disconnects} so far)");
            }
            continue;
        }
        // A message longer than the receive buffer arrived in part (`msglen` of `srcmsglen`
        // bytes): as QNX servers do, read the rest from the client with MsgRead (up to
        // MAX_MSG; a longer one is refused with EMSGSIZE rather than echoed cut short).
        let whole;
        let msg = if info.srcmsglen > info.msglen {
            if info.srcmsglen > MAX_MSG as i64 {
                println!(
                    "echo-server: {} bytes from pid {}: longer than {MAX_MSG}, refused (EMSGSIZE)",
                    info.srcmsglen, info.pid
                );
                error(rcvid, &info, userlib::Errno::EMSGSIZE)?;
                continue;
            }
            let mut all = vec![0u8; info.srcmsglen as usize];
            let got = match msg_read(rcvid, &mut all, 0) {
                Err(userlib::Errno::ESRCH) => {
                    println!("echo-server: pid {} is gone (ESRCH)", info.pid);
                    continue;
                }
                r => r.context(|| "MsgRead")?,
            };
            all.truncate(got);
            whole = all;
            &whole[..]
        } else {
            &buf[..info.msglen as usize]
        };
        if msg == b"quit" {
            reply(rcvid, &info, 0, b"")?;
            println!("echo-server: asked to quit by pid {}", info.pid);
            return Ok(());
        }
        let up = msg.to_ascii_uppercase();
        println!(
            "echo-server: {} bytes from pid {} tid {}",
            msg.len(),
            info.pid,
            info.tid
        );
        if args.hold_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(args.hold_ms));
        }
        reply(rcvid, &info, up.len() as i64, &up)?;
    }
}

/// The longest message the server echoes (read with MsgRead beyond its receive buffer).
const MAX_MSG: usize = 16 << 20;

/// MsgError to the client `info` describes (a client that is gone is no failure: as [`reply`]).
fn error(rcvid: userlib::RcvId, info: &MsgInfo, err: userlib::Errno) -> Result<(), Failure> {
    match msg_error(rcvid, err) {
        Err(userlib::Errno::ESRCH) => {
            println!("echo-server: pid {} is gone (ESRCH)", info.pid);
            Ok(())
        }
        r => r.context(|| "MsgError"),
    }
}

/// MsgReply to the client `info` describes. A client that is gone (it died after its send, and
/// the kernel tore it down: `ESRCH`) is no failure of the server's: as QNX servers do, it
/// says so and goes on. Any other error fails.
fn reply(rcvid: userlib::RcvId, info: &MsgInfo, status: i64, msg: &[u8]) -> Result<(), Failure> {
    match msg_reply(rcvid, status, msg) {
        Err(userlib::Errno::ESRCH) => {
            println!(
                "echo-server: pid {} tid {} is gone (ESRCH): no reply",
                info.pid, info.tid
            );
            Ok(())
        }
        r => r.context(|| "MsgReply"),
    }
}
