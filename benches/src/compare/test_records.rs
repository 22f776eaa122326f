//! Hand-made fixtures for the unit tests of the outputs ([`super::report`], [`super::plot`]).

use super::record::{Record, Workload};
use crate::machine::MachineInfo;

/// A record of `runs` = 5 with `rate` messages per second and every other figure empty.
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
    r.msgs_per_s = rate;
    r.runs = 5;
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
