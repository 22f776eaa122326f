//! `intr-sim`: the hardware of a running shared kernel's simulated interrupts. It raises an
//! interrupt level, once, several times, or periodically, as a device's interrupt request
//! would: the programs attached to the level (InterruptAttachEvent, InterruptAttach) get
//! their events, or, while the level is masked, the request waits for the unmask (one
//! request, however many raises). It joins no process; `pidin-sim` shows the attachments and
//! each level's mask count and raises.
//!
//! ```text
//! intr-sim [--kernel NAME|PATH] LEVEL [--count N] [--every SECS] [--quiet]
//! ```

use clap::Parser;
use kernel_sim::supervisor;
use std::time::{Duration, Instant};

/// Raises a simulated interrupt level of a running shared kernel, as a device would.
#[derive(Parser, Debug)]
#[command(name = "intr-sim", version)]
struct Args {
    /// The kernel: a supervised kernel's name or socket, or a memory file's path. Default:
    /// $QNXSIM_KERNEL, else "default".
    #[arg(long, value_name = "NAME|PATH")]
    kernel: Option<String>,
    /// The interrupt level (vector) to raise, 0 to 255.
    #[arg(value_name = "LEVEL", value_parser = clap::value_parser!(i32).range(0..=255))]
    level: i32,
    /// Raise it this many times.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    count: u64,
    /// Seconds between raises (default: back to back). With --count 1 it waits this long
    /// before the one raise.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    every: Option<Duration>,
    /// Print nothing but errors (default: one line per raise, and a summary).
    #[arg(long)]
    quiet: bool,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!("{s} is not between 0 (excluded) and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn main() {
    let args = Args::parse();
    let (kernel, _) = match supervisor::open_named(args.kernel.as_deref()) {
        Ok(opened) => opened,
        Err(why) => {
            eprintln!("intr-sim: {why}");
            std::process::exit(1);
        }
    };
    let (mut delivered, mut latched) = (0u64, 0u64);
    let start = Instant::now();
    for n in 1..=args.count {
        if let Some(every) = args.every {
            // (On a fixed schedule: a late raise does not push the later ones back.)
            let due = start + every.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        match kernel.interrupt_raise(args.level) {
            Ok(0) => {
                latched += 1;
                if !args.quiet {
                    println!(
                        "raise {n}: level {} masked or unattached: no delivery now",
                        args.level
                    );
                }
            }
            Ok(k) => {
                delivered += 1;
                if !args.quiet {
                    println!(
                        "raise {n}: level {} delivered to {k} attachment{}",
                        args.level,
                        if k == 1 { "" } else { "s" }
                    );
                }
            }
            Err(e) => {
                eprintln!("intr-sim: raising level {} failed: {e}", args.level);
                std::process::exit(1);
            }
        }
    }
    if !args.quiet && args.count > 1 {
        println!(
            "{} raises of level {}: {delivered} delivered at once, {latched} not (masked: latched until unmasked, or no attachment)",
            args.count, args.level
        );
    }
}
