//! The side-by-side comparison behind the `compare` program: SRR against asyncmsg, with
//! baselines measured in the same run.
//!
//! * [`record`]: one figure ([`record::Record`]), the contract between measuring and output.
//! * [`workloads`]: the simulated kernel's models (SRR, asyncmsg) on each workload.
//! * [`baselines`]: futex, spin-then-futex, pipe and Unix-socket ping-pongs,
//!   crossbeam-channel, and an SPSC ring publishing every message or in batches.
//! * [`report`]: ratios, the table (with each row's range over the runs), JSON and CSV, the
//!   performance targets and the ratios reported beside them.
//! * [`schema`]: the JSON and CSV layouts as serde types (written and read back).
//! * [`plot`]: SVG charts.
//! * [`provenance`]: the schema version, commit and date stamped on the JSON and CSV.
//! * [`output`]: checking the output paths before measuring, and writing files whole.
//! * [`traced`]: `--trace`'s and `--diagram`'s small traced run of the kernel's models, after
//!   the measured ones, as a Perfetto timeline and a message sequence chart.
//! * [`xproc`]: the cases between two Linux processes (the `xproc-*` placements): the peer
//!   process, its protocol and watchdog, and the models on each side.
//!
//! The JSON and CSV fields are documented in `docs/outputs.md`.

pub mod baselines;
pub mod output;
pub mod plot;
pub mod provenance;
pub mod record;
pub mod report;
pub mod schema;
pub mod traced;
pub mod workloads;
pub mod xproc;

#[cfg(test)]
mod test_records;
