//! What the numbers were measured on: CPU model, core counts, kernel version.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A description of the machine, for the top of a report. Serialised as the reports' `machine`
/// object (`docs/outputs.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// `model name` from `/proc/cpuinfo` (first CPU), or "unknown".
    pub cpu_model: String,
    /// CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`: the machine's, whatever this process's
    /// affinity mask, which `cpus_allowed` gives).
    pub cpus_online: usize,
    /// The CPUs this process may run on (affinity mask).
    pub cpus_allowed: Vec<usize>,
    /// `uname -srvm`.
    pub kernel: String,
}

/// The CPUs online on the machine (not only those this process may use); 1 if it cannot say.
fn cpus_online() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

impl MachineInfo {
    /// Reads the current machine's description.
    pub fn current() -> MachineInfo {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let kernel = match nix::sys::utsname::uname() {
            Ok(u) => format!(
                "{} {} {} {}",
                u.sysname().to_string_lossy(),
                u.release().to_string_lossy(),
                u.version().to_string_lossy(),
                u.machine().to_string_lossy()
            ),
            Err(_) => "unknown".into(),
        };
        MachineInfo {
            cpu_model,
            cpus_online: cpus_online(),
            cpus_allowed: crate::harness::allowed_cpus(),
            kernel,
        }
    }

    /// The allowed CPUs as a compact list, e.g. `0-1` or `0,2`.
    pub fn allowed_list(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        let c = &self.cpus_allowed;
        while i < c.len() {
            let mut j = i;
            while j + 1 < c.len() && c[j + 1] == c[j] + 1 {
                j += 1;
            }
            if !out.is_empty() {
                out.push(',');
            }
            if j > i {
                let _ = write!(out, "{}-{}", c[i], c[j]);
            } else {
                let _ = write!(out, "{}", c[i]);
            }
            i = j + 1;
        }
        out
    }
}
