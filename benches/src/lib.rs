//! Benchmarks of the simulated kernel against baselines measured in the same run.
//!
//! Absolute times drift between runs and machines (this project's is a two-core virtual
//! machine with noisy neighbours), so every benchmark here
//! measures its baseline in the same run and reports ratios, and every latency says how the
//! threads were placed.
//!
//! * [`compare`]: the side-by-side comparison behind the `compare` program.
//! * [`futex`]: raw process-private futex wait and wake, for baselines.
//! * [`harness`]: pinning, placements, per-round-trip latency recording into an
//!   [`hdrhistogram::Histogram`], a two-thread ping-pong runner, median-of-runs summaries.
//! * [`machine`]: CPU model, core count and kernel version, for report headers.
//! * [`json`]: the little hand-written JSON the reports need.
//! * [`models`]: the round-trip models themselves (SRR through kernel-sim, raw futex).
//! * [`throughput`]: one-way throughput models (asyncmsg at several count triggers, SRR,
//!   crossbeam-channel) for `async_throughput`.

pub mod compare;
pub mod futex;
pub mod harness;
pub mod json;
pub mod machine;
pub mod models;
pub mod throughput;
