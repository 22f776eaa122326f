//! One model, one placement, one run, no report: a target for `valgrind --tool=callgrind`,
//! whose instruction counts are repeatable where times are not.
//!
//! ```text
//! cargo build --release -p benches --bin roundtrip_profile
//! valgrind --tool=callgrind target/release/roundtrip_profile srr same 2000
//! ```
//!
//! Instructions per round trip = the difference of two runs' totals (say 2000 and 4000 round
//! trips) over the difference of their counts, which cancels start-up and set-up.

use benches::harness::Placement;
use benches::models::{self, Model};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: roundtrip_profile <srr|futex> <same|cross> <round trips>");
        std::process::exit(2)
    };
    let [model, placement, n] = args.as_slice() else {
        usage()
    };
    let model = match model.as_str() {
        "srr" => Model::Srr,
        "futex" => Model::Futex,
        _ => usage(),
    };
    let avail = Placement::available();
    let placement = match placement.as_str() {
        "same" => avail.iter().find(|p| matches!(p, Placement::SameCpu(_))),
        "cross" => avail.iter().find(|p| matches!(p, Placement::CrossCpu(..))),
        _ => usage(),
    };
    let Some(&placement) = placement else {
        eprintln!("that placement is not available on this machine");
        std::process::exit(1)
    };
    let Ok(n) = n.parse::<u64>() else { usage() };
    let r = models::run(model, placement, 0, n);
    println!(
        "{} {}: {} round trips, replies intact: {}",
        model.name(),
        placement.label(),
        r.trips.total,
        r.reply_ok
    );
    if let Some(k) = r.kernel {
        println!("{k:?}");
    }
}
