//! The client of `echo-server`, a program of its own: connects to the server's pid and chid
//! on the kernel both find through `QNXSIM_KERNEL`, sends each word it is given and prints the
//! replies. See `echo-server` for how to run them.

use clap::Parser;
use examples::{Context, Failure};
use userlib::consts::*;
use userlib::qnx::*;

#[derive(Parser, Debug)]
#[command(
    name = "echo-client",
    version,
    about = "The client of echo-server, a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// The server's pid (what echo-server printed).
    pid: i32,
    /// The server's chid.
    chid: i32,
    /// Messages to send, one per word.
    words: Vec<String>,
    /// Also send one message of this many bytes (`a`s), 1 to 67108864, and check its echo: a
    /// message longer than the server's 64 KiB receive buffer, which the server reads whole
    /// with MsgRead (up to 16 MiB; beyond that it refuses it with EMSGSIZE).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64 << 20))]
    fill: Option<u64>,
    /// Then ask the server to end.
    #[arg(long)]
    quit: bool,
    /// Seconds each send may take, 1 to 3600 (TimerTimeout on SEND and REPLY).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

fn main() {
    examples::programs::quiet_on_broken_pipe();
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("echo-client: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let coid = connect_attach(0, args.pid, args.chid, _NTO_SIDE_CHANNEL, 0)
        .context(|| format!("ConnectAttach to pid {} chid {}", args.pid, args.chid))?;
    let send = |msg: &[u8], reply: &mut [u8]| {
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(args.timeout * 1_000_000_000),
        )
        .context(|| "TimerTimeout")?;
        msg_send(coid, msg, reply).context(|| "MsgSend")
    };
    let mut out = Vec::new();
    for w in &args.words {
        // The echo is as long as the word: a reply buffer of its size takes it whole.
        let mut reply = vec![0u8; w.len()];
        let n = send(w.as_bytes(), &mut reply)? as usize;
        if n > reply.len() {
            return Err(Failure::new(format!(
                "the reply to a {}-byte word said {n} bytes: not an echo",
                w.len()
            )));
        }
        out.push(String::from_utf8_lossy(&reply[..n]).into_owned());
    }
    if !out.is_empty() {
        println!("{}", out.join(" "));
    }
    if let Some(len) = args.fill {
        let msg = vec![b'a'; len as usize];
        let mut reply = vec![0u8; msg.len()];
        let n = send(&msg, &mut reply)? as usize;
        if n != msg.len() || reply.iter().any(|&b| b != b'A') {
            return Err(Failure::new(format!(
                "the {len}-byte message came back as {n} bytes, not its echo"
            )));
        }
        println!("echo-client: {len} bytes echoed whole");
    }
    if args.quit {
        send(b"quit", &mut [])?;
        println!("echo-client: the server was asked to end");
    }
    connect_detach(coid).context(|| "ConnectDetach")?;
    Ok(())
}
