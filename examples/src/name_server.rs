//! A server found by its name, as QNX servers are: `name_attach("sample/upper", 0)` makes a
//! channel that the name leads to, for every program on the kernel, and clients in other
//! programs reach it with `name_open("sample/upper", 0)` (`name-client`) instead of being told
//! a pid and a chid (compare `echo-server`). Both find one kernel through `QNXSIM_KERNEL`.
//!
//! ```text
//! export QNXSIM_KERNEL=demo
//! name-server &                       # prints: name-server: pid 4211 attached "sample/upper"
//! name-client hello world             # prints: HELLO WORLD
//! name-client --quit                  # the server ends
//! ```
//!
//! What a name server receives: an `_IO_CONNECT` from each `name_open` (answered EOK: "come
//! in"), the clients' messages (here a 2-byte type, `MSG_UPPER` or `MSG_QUIT`, then text: a
//! type above `_IO_MAX`, so that no message of a client can pass for one of QNX's I/O
//! messages), and `_PULSE_CODE_DISCONNECT` when a client's last connection goes (then
//! `ConnectDetach` of its scoid). A client that dies between its send and the reply makes the
//! reply fail with `ESRCH`; as QNX servers do, the server notes it and goes on serving
//! (`--hold-ms` holds each answer to a `MSG_UPPER` that long: the client stays REPLY-blocked).
//! It never waits unbounded: `--idle` ends it after that long without a message; at its end it
//! detaches the name (`name_detach`).

use clap::Parser;
use examples::{Context, Failure};
use userlib::consts::*;
use userlib::iomsg::{_IO_CONNECT, _IO_MAX};
use userlib::qnx::*;
use userlib::MsgInfo;

/// A request: this type, then text to answer in upper case.
const MSG_UPPER: u16 = _IO_MAX + 1;
/// A request: end the server.
const MSG_QUIT: u16 = _IO_MAX + 2;

#[derive(Parser, Debug)]
#[command(
    name = "name-server",
    version,
    about = "A server found by name (name_attach), a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// The name to attach (relative: no leading '/', at most 127 bytes).
    #[arg(long, default_value = "sample/upper", value_parser = server_name)]
    name: String,
    /// Seconds without a message after which the server ends, 1 to 86400.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    idle: u64,
    /// Milliseconds to hold each answer to a request, 0 to 60000: the client stays
    /// REPLY-blocked meanwhile.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    hold_ms: u64,
}

fn server_name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.starts_with('/') || s.len() > 127 || s.split('/').any(|c| c == "..") {
        Err("a relative name of at most 127 bytes, with no '..'".into())
    } else {
        Ok(s.to_string())
    }
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("name-server: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    if std::env::var_os(userlib::current::KERNEL_ENV).is_none() {
        eprintln!(
            "name-server: {} is not set: this kernel is this program's alone, and no other program can reach it",
            userlib::current::KERNEL_ENV
        );
    }
    let attach = name_attach(&args.name, 0).context(|| format!("name_attach({:?})", args.name))?;
    let pid = getpid().context(|| "getpid")?;
    println!("name-server: pid {pid} attached {:?}", args.name);
    let mut buf = vec![0u8; 4096];
    loop {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_RECEIVE,
            Some(args.idle * 1_000_000_000),
        )
        .context(|| "TimerTimeout")?;
        let mut info = MsgInfo::default();
        let rcvid = match msg_receive(attach.chid, &mut buf, Some(&mut info)) {
            Err(userlib::Errno::ETIMEDOUT) => {
                println!("name-server: no message for {} s: ending", args.idle);
                break;
            }
            r => r.context(|| "MsgReceive")?,
        };
        if rcvid == 0 {
            let p =
                userlib::Pulse::from_bytes(&buf).ok_or_else(|| Failure::new("a short pulse"))?;
            if p.code == _PULSE_CODE_DISCONNECT {
                connect_detach(p.scoid).context(|| "ConnectDetach of the scoid")?;
                println!("name-server: a client disconnected");
            }
            continue;
        }
        let msg = &buf[..(info.msglen as usize).min(buf.len())];
        let ty = msg.get(..2).map_or(0, |t| u16::from_ne_bytes([t[0], t[1]]));
        match ty {
            _IO_CONNECT => {
                // name_open's message: let the client in.
                println!("name-server: pid {} opened the name", info.pid);
                gone_is_no_failure(msg_reply(rcvid, 0, b""), &info)
                    .context(|| "MsgReply to the _IO_CONNECT")?;
            }
            MSG_UPPER => {
                let up = msg[2..].to_ascii_uppercase();
                println!(
                    "name-server: {} bytes from pid {} tid {}",
                    up.len(),
                    info.pid,
                    info.tid
                );
                if args.hold_ms > 0 {
                    std::thread::sleep(std::time::Duration::from_millis(args.hold_ms));
                }
                gone_is_no_failure(msg_reply(rcvid, up.len() as i64, &up), &info)
                    .context(|| "MsgReply")?;
            }
            MSG_QUIT => {
                gone_is_no_failure(msg_reply(rcvid, 0, b""), &info).context(|| "MsgReply")?;
                println!("name-server: asked to quit by pid {}", info.pid);
                break;
            }
            // QNX's other I/O messages, and what we do not know.
            _ => gone_is_no_failure(msg_error(rcvid, userlib::Errno::ENOSYS), &info)
                .context(|| "MsgError")?,
        }
    }
    name_detach(&attach, 0).context(|| "name_detach")?;
    Ok(())
}

/// A reply's result, where a client that is gone (it died after its send, and the kernel tore
/// it down: `ESRCH`) is no failure of the server's: as QNX servers do, it says so and goes on.
fn gone_is_no_failure(r: Result<(), userlib::Errno>, info: &MsgInfo) -> Result<(), userlib::Errno> {
    match r {
        Err(userlib::Errno::ESRCH) => {
            println!(
                "name-server: pid {} tid {} is gone (ESRCH): no reply",
                info.pid, info.tid
            );
            Ok(())
        }
        r => r,
    }
}
