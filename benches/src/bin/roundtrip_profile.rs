//! One model, one placement, one run, no report: a target for `valgrind --tool=callgrind`,
//! whose instruction counts are repeatable where times are not. The run is the comparison's
//! 64-byte round-trip case (`Case::run`), as `srr_roundtrip` and `compare` measure it.
//!
//! ```text
//! cargo build --release -p benches --bin roundtrip_profile
//! valgrind --tool=callgrind target/release/roundtrip_profile srr same 2000
//! ```
//!
//! `srr-shared` runs SRR on a kernel shared through a memory file (in a temporary directory,
//! removed at the end), client and server two processes of it in this program: what a kernel
//! shared by programs costs per call (the undo record, the windows), without a second program
//! that callgrind would have to follow.
//!
//! Instructions per round trip = the difference of two runs' totals (say 2000 and 4000 round
//! trips) over the difference of their counts, which cancels start-up and set-up.

use benches::compare::record::Workload;
use benches::compare::workloads::{Between, Case, Model};
use benches::harness::Placement;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: roundtrip_profile <srr|srr-shared|futex> <same|cross> <round trips>");
        std::process::exit(2)
    };
    let [model, placement, n] = args.as_slice() else {
        usage()
    };
    let shared = model == "srr-shared";
    let model = match model.as_str() {
        "srr" | "srr-shared" => Model::Srr,
        "futex" => Model::Futex,
        _ => usage(),
    };
    let placement = match placement.as_str() {
        "same" => Placement::same_cpu(),
        "cross" => Placement::cross_cpu(),
        _ => usage(),
    };
    let Some(placement) = placement else {
        eprintln!("that placement is not available on this machine");
        std::process::exit(1)
    };
    let Ok(n) = n.parse::<u64>() else { usage() };
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
    let dir = std::env::temp_dir().join(format!("roundtrip-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let k = userlib::Kernel::create_shared(&dir.join("kernel"), userlib::Config::default())
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
    let _ = std::fs::remove_dir_all(&dir);
}
