//! `pidin-sim`: what QNX's `pidin` shows, for a running shared kernel: its processes, their
//! threads with state (RUNNING, READY, SEND / RECEIVE / REPLY blocked, on whom), base and
//! current priorities, channels with their queues, connections, and the kernel-entry counters.
//! It joins no process and changes nothing: it maps the kernel and takes snapshots.
//!
//! ```text
//! pidin-sim [--kernel NAME|PATH] [--watch] [--interval SECS]
//! ```

use clap::Parser;
use kernel_sim::{supervisor, Kernel};
use std::time::Duration;

/// Shows a running shared kernel's processes, threads, channels and connections, as pidin.
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
        print!("{}", listing(&kernel));
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

/// Processes with their counters, then the snapshot (threads, channels, connections), then the
/// pools.
fn listing(k: &Kernel) -> String {
    use std::fmt::Write;
    let snap = k.snapshot();
    let pools = k.pool_usage();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>8} {:>7} {:>10} {:>9} {:>9} {:>8}",
        "PID", "THREADS", "KENTRIES", "SENT", "RECEIVED", "REPLIES"
    );
    for p in &snap.processes {
        let c = &p.counters;
        let _ = writeln!(
            out,
            "{:>8} {:>7} {:>10} {:>9} {:>9} {:>8}",
            p.pid, p.threads, c.kernel_entries, c.msgs_sent, c.msgs_received, c.replies
        );
    }
    let _ = writeln!(out);
    let _ = write!(out, "{snap}");
    let _ = writeln!(
        out,
        "\nkernel entries {} | in use: {} of {} processes, {} of {} threads, {} of {} channels, {} of {} connections, {} of {} pulses, {} of {} timers",
        k.kernel_entries(),
        pools.processes.live,
        pools.processes.capacity,
        pools.threads.live,
        pools.threads.capacity,
        pools.channels.live,
        pools.channels.capacity,
        pools.connections.live,
        pools.connections.capacity,
        pools.pulses.live,
        pools.pulses.capacity,
        pools.timers.live,
        pools.timers.capacity,
    );
    out
}
