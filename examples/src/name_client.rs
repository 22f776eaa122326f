//! The client of `name-server`, a program of its own: finds the server by its name
//! (`name_open`), sends each word it is given and prints the replies, then `name_close`. See
//! `name-server` for how to run them.

use clap::Parser;
use examples::{Context, Failure};
use userlib::consts::*;
use userlib::iomsg::_IO_MAX;
use userlib::qnx::*;

/// `name-server`'s request types (the same definitions as in `src/name_server.rs`).
const MSG_UPPER: u16 = _IO_MAX + 1;
const MSG_QUIT: u16 = _IO_MAX + 2;

#[derive(Parser, Debug)]
#[command(
    name = "name-client",
    version,
    about = "The client of name-server, a program of its own on a shared kernel (QNXSIM_KERNEL)"
)]
struct Args {
    /// Messages to send, one per word.
    words: Vec<String>,
    /// The server's name.
    #[arg(long, default_value = "sample/upper")]
    name: String,
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
        eprintln!("name-client: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Failure> {
    let coid = name_open(&args.name, 0).context(|| format!("name_open({:?})", args.name))?;
    let send = |ty: u16, text: &[u8], reply: &mut [u8]| {
        let mut msg = ty.to_ne_bytes().to_vec();
        msg.extend_from_slice(text);
        timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(args.timeout * 1_000_000_000),
        )
        .context(|| "TimerTimeout")?;
        msg_send(coid, &msg, reply).context(|| "MsgSend")
    };
    let mut reply = vec![0u8; 4096];
    let mut out = Vec::new();
    for w in &args.words {
        let n = send(MSG_UPPER, w.as_bytes(), &mut reply)? as usize;
        out.push(String::from_utf8_lossy(&reply[..n.min(reply.len())]).into_owned());
    }
    if !out.is_empty() {
        println!("{}", out.join(" "));
    }
    if args.quit {
        send(MSG_QUIT, b"", &mut [])?;
        println!("name-client: the server was asked to end");
    }
    name_close(coid).context(|| "name_close")?;
    Ok(())
}
