//! One model, one placement, one run, no report: a target for `valgrind --tool=callgrind`,
//! whose instruction counts are repeatable where times are not. The run is the comparison's
//! 64-byte round-trip case (`Case::run`), as `srr_roundtrip` and `compare` measure it.
//!
//! ```text
//! cargo build --release -p benches --bin roundtrip_profile
//! valgrind --tool=callgrind target/release/roundtrip_profile srr same 2000
//! ```
//!
//! `srr-shared` runs SRR on a kernel shared through a memory file (in a directory of its own
//! on `/dev/shm`, removed at the end and when SIGTERM, SIGINT or SIGHUP ends the run), client and server two processes of it in this program: what a kernel
//! shared by programs costs per call (the undo record, the windows), without a second program
//! that callgrind would have to follow.
//!
//! Instructions per round trip = the difference of two runs' totals (say 2000 and 4000 round
//! trips) over the difference of their counts, which cancels start-up and set-up.
//!
//! The round trips are 1 to 10,000,000; a bad model, placement or count is refused with the
//! usage on stderr and exit status 2; `--help` prints the usage on stdout (status 0).

use benches::compare::record::Workload;
use benches::compare::workloads::{Between, Case, Model};
use benches::harness::Placement;

/// Most round trips a run takes (as `srr_roundtrip --iters`): some 25 s natively, far longer
/// under callgrind.
const MAX_ROUND_TRIPS: u64 = 10_000_000;

/// Prints the usage, on stdout for `--help` (`code` 0) and on stderr for a refused command
/// line, and exits with `code`.
fn usage(code: i32) -> ! {
    let text = format!(
        "usage: roundtrip_profile <srr|srr-shared|futex> <same|cross> <round trips>\n\
         \x20 srr|srr-shared|futex  the model: SRR between two simulated processes of this program,\n\
         \x20                       SRR on a kernel shared through a memory file, or the futex ping-pong\n\
         \x20 same|cross            both threads on the first CPU, or server on the first and client on the second\n\
         \x20 round trips           64-byte round trips to make, 1..={MAX_ROUND_TRIPS} (no warm-up)"
    );
    if code == 0 {
        println!("{text}");
    } else {
        eprintln!("{text}");
    }
    std::process::exit(code)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        usage(0)
    }
    let [model, placement, n] = args.as_slice() else {
        usage(2)
    };
    let shared = model == "srr-shared";
    let model = match model.as_str() {
        "srr" | "srr-shared" => Model::Srr,
        "futex" => Model::Futex,
        _ => {
            eprintln!("unknown model {model:?}");
            usage(2)
        }
    };
    let placement = match placement.as_str() {
        "same" => Placement::same_cpu(),
        "cross" => Placement::cross_cpu(),
        _ => {
            eprintln!("unknown placement {placement:?}");
            usage(2)
        }
    };
    let n = match n.parse::<u64>() {
        Ok(n) if (1..=MAX_ROUND_TRIPS).contains(&n) => n,
        _ => {
            eprintln!("the round trips must be a number from 1 to {MAX_ROUND_TRIPS}, not {n:?}");
            usage(2)
        }
    };
    let Some(placement) = placement else {
        eprintln!("that placement is not available on this machine");
        std::process::exit(1)
    };
    if shared {
        shared_srr(placement, n);
        return;
    }
    let case = Case {
        workload: Workload::RoundTrip,
        model,
        msg_size: 64,
        producers: 1,
        placement,
        between: Between::Threads,
    };
    let s = case.run(0, n, None);
    println!(
        "{} {}: {} round trips, all intact: {}",
        model.label(),
        placement.label(),
        s.sent,
        s.received == s.sent
    );
    if let Some(k) = s.kernel {
        println!("{k:?}");
    }
}

/// SRR round trips on a kernel in a memory file, between two of its processes in this program.
fn shared_srr(placement: Placement, n: u64) {
    // The comparison's run directory: removed at the end, and on SIGTERM, SIGINT or SIGHUP
    // (the program then exits with 128 + the signal's number).
    let files = benches::compare::xproc::RunFiles::new();
    let k = userlib::Kernel::create_shared(&files.path("kernel"), userlib::Config::default())
        .expect("Kernel::create_shared");
    let client = userlib::Process::new_in(&k).expect("client process");
    let server = userlib::Process::new_in(&k).expect("server process");
    let rt = benches::compare::baselines::RoundTrip {
        placement,
        msg_size: 64,
        warmup: 0,
        n,
    };
    let s = benches::compare::workloads::srr_round_trip_on(&rt, (&k, &client, &server));
    println!(
        "SRR (shared kernel) {}: {} round trips, all intact: {}",
        placement.label(),
        s.sent,
        s.received == s.sent
    );
    drop((client, server, k));
    files.remove();
}
