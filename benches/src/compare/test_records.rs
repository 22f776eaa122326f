//! Hand-made fixtures for the unit tests of the outputs ([`super::report`], [`super::plot`]).

use super::record::{Record, Workload};
use crate::machine::MachineInfo;

/// A record of `runs` = 5 with `rate` messages per second in every run (so its paired ratios
/// equal its ratios of medians, and its range is `rate`..`rate`) and every other figure empty.
pub fn rec(
    model: &str,
    w: Workload,
    size: usize,
    batch: u32,
    prod: u32,
    place: &str,
    rate: f64,
) -> Record {
    let mut r = Record::new(model, w, size, batch, prod, place);
    r.set_run_rates(vec![rate; 5]);
    r.runs = 5;
    r
}

/// `r` with runs of these rates, in round order: `runs`, `run_msgs_per_s`, `msgs_per_s`
/// (their median) and the range set.
pub fn with_runs(mut r: Record, rates: &[f64]) -> Record {
    r.runs = rates.len() as u32;
    r.set_run_rates(rates.to_vec());
    r
}

/// A two-CPU machine whose name has quotes in it (for the outputs' escaping).
pub fn machine() -> MachineInfo {
    MachineInfo {
        cpu_model: "Test \"CPU\" @ 3GHz".into(),
        cpus_online: 2,
        cpus_allowed: vec![0, 1],
        kernel: "Linux 6.1 #1 SMP x86_64".into(),
    }
}
