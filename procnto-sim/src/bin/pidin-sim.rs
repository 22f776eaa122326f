//! `pidin-sim`: what QNX's `pidin` shows, for a running shared kernel: its processes with their
//! counters (kernel entries, SRR messages, asyncmsg triggers and messages), their threads with
//! state (RUNNING, READY, SEND / RECEIVE / REPLY blocked, on whom), base and current
//! priorities, channels with their queues and flags by name (an asyncmsg channel with its
//! buffers and its ready list), connections (an asyncmsg connection with its send queue's
//! pending and unreleased messages, its batches and messages taken), and the pools in use:
//! `Kernel::listing`, which the examples' `--pidin` prints too. It joins no process and
//! changes nothing: it maps the kernel and takes snapshots. (A send queue in another program's
//! memory cannot be read from here: its counts show as `-`.)
//!
//! ```text
//! pidin-sim [--kernel NAME|PATH] [--watch] [--interval SECS]
//! ```

use clap::Parser;
use kernel_sim::{supervisor, Kernel};
use std::time::Duration;

/// Shows a running shared kernel's processes, threads, channels and connections (asyncmsg
/// queues among them), as pidin.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The kernel: a supervised kernel's name or socket, or a memory file's path. Default:
    /// $QNXSIM_KERNEL, else "default".
    #[arg(long, value_name = "NAME|PATH")]
    kernel: Option<String>,
    /// Refresh the listing until interrupted.
    #[arg(long)]
    watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, value_name = "SECS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
}

fn main() {
    let args = Args::parse();
    let name = supervisor::kernel_name(args.kernel.as_deref());
    let kernel = match open(&name) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("pidin-sim: cannot open the kernel {name:?}: {e}");
            std::process::exit(1);
        }
    };
    loop {
        if args.watch {
            print!("\x1b[H\x1b[2J");
        }
        print!("{}", kernel.listing());
        if !args.watch {
            break;
        }
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

/// Maps the kernel `name` without starting anything: a supervised kernel through its
/// supervisor's socket, a plain one through its file.
fn open(name: &str) -> kernel_sim::KResult<Kernel> {
    if supervisor::is_supervised(name) {
        supervisor::attach(&supervisor::socket_path(name)?)
    } else {
        Kernel::open_shared(std::path::Path::new(name))
    }
}
