//! Benchmarks of the simulated kernel against baselines measured in the same run.
//!
//! Absolute times drift between runs and machines (this project's is a two-core virtual
//! machine with noisy neighbours), so every benchmark here
//! measures its baseline in the same run and reports ratios, and every latency says how the
//! threads were placed.
//!
//! There is one measuring harness. Every program (`compare`, the focused `srr_roundtrip` and
//! `async_throughput`, and `roundtrip_profile` for callgrind) describes a run as a
//! [`compare::workloads::Case`] (one [`compare::workloads::Model`] on a workload, a message
//! size, a producer count and a [`harness::Placement`]) and measures it with
//! [`compare::workloads::Case::run`]; the programs differ only in which cases they run, how
//! often, and how they report.
//!
//! * [`harness`]: placements and pinning, the threads of a run and their phases, round-trip
//!   timing into an [`hdrhistogram::Histogram`], medians.
//! * [`compare`]: the models (the simulated kernel's in `workloads`, the baselines in
//!   `baselines`), the comparison's plan, its records and outputs.
//! * [`futex`]: raw process-private futex wait and wake, for baselines.
//! * [`machine`]: CPU model, core count and kernel version, for report headers.

pub mod compare;
pub mod futex;
pub mod harness;
pub mod machine;
