//! Pool bookkeeping: what is live in the kernel's pools, the check that a test left every pool
//! where it found it, and what the kernel's snapshot says of connections and channels.

use super::{Config, Kernel, Pid};

/// A fresh kernel with the default configuration.
pub fn kernel() -> Kernel {
    Kernel::new(Config::default()).expect("kernel")
}

/// Live objects in every pool: `[processes, threads, channels, connections, pulses, timers]`.
pub fn live(k: &Kernel) -> [u32; 6] {
    let u = k.pool_usage();
    [
        u.processes.live,
        u.threads.live,
        u.channels.live,
        u.connections.live,
        u.pulses.live,
        u.timers.live,
    ]
}

/// Live timers.
pub fn timers_live(k: &Kernel) -> u32 {
    k.pool_usage().timers.live
}

/// Destroys the processes and checks every pool is back to `start` (from [`live`]).
pub fn teardown(k: &Kernel, procs: &[Pid], start: [u32; 6]) {
    for &p in procs {
        k.process_destroy(p).expect("process_destroy");
    }
    assert_eq!(
        live(k),
        start,
        "pools (processes, threads, channels, connections, pulses, timers) back to their start"
    );
}

/// The scoid the server sees for client `pid`'s `coid` (from the kernel's snapshot).
pub fn scoid_of(k: &Kernel, pid: i32, coid: i32) -> i32 {
    k.snapshot()
        .connections
        .iter()
        .find(|c| c.pid == pid && c.coid == coid)
        .map(|c| c.scoid)
        .unwrap_or_else(|| panic!("no coid {coid:#x} in pid {pid}"))
}

/// Entries queued on channel `chid` of process `pid` (SEND-blocked threads and pulses).
pub fn queued(k: &Kernel, pid: i32, chid: i32) -> u32 {
    k.snapshot()
        .channels
        .iter()
        .find(|c| c.pid == pid && c.chid == chid)
        .map(|c| c.queued)
        .unwrap_or_else(|| panic!("no chid {chid} in pid {pid}"))
}
