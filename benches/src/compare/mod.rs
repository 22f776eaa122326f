//! The side-by-side comparison behind the `compare` program: SRR against asyncmsg, with
//! baselines measured in the same run.
//!
//! * [`record`]: one figure ([`record::Record`]), the contract between measuring and output.
//! * [`workloads`]: the simulated kernel's models (SRR, asyncmsg) on each workload.
//! * [`baselines`]: futex, pipe and Unix-socket ping-pongs, crossbeam-channel and an SPSC ring.
//! * [`report`]: ratios, the table, JSON and CSV, and the performance targets.
//! * [`plot`]: SVG charts.

pub mod baselines;
pub mod plot;
pub mod record;
pub mod report;
pub mod workloads;

#[cfg(test)]
mod test_records;
