//! Review of 96fba40 (the supervisor replaces only a socket): what its check leaves open.
//! Every socket lives in a temporary directory removed on every exit path; every wait is
//! bounded.

#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use kernel_sim::supervisor::Supervisor;
use kernel_sim::Config;
use procs::TempDir;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Leaves a socket nobody answers at `path` (a supervisor killed without removing it).
fn stale_socket(path: &std::path::Path) {
    let l = std::os::unix::net::UnixListener::bind(path).expect("bind");
    drop(l);
    assert!(path.exists());
}

/// Finding: two supervisors started at once on a stale socket (a killed supervisor's: the
/// case 96fba40 warns about). `Supervisor::bind` checks (connect, then `symlink_metadata`),
/// removes, then binds, with nothing ordering two of them: both find the socket stale, the
/// first removes it and binds its own, the second removes the first one's live socket and
/// binds its own. Both succeed: two kernels under one name, the first unreachable (programs it
/// admitted are split from those that come later), and when it ends its `Drop` removes the
/// second one's socket. Or the second finds nothing between the first's remove and bind and is
/// refused with EEXIST, "something other than a socket is at this path". The design says the
/// second supervisor exits with status 1 after finding the socket served (EADDRINUSE). Also
/// seen: ENOENT, the second's `remove_file` after the first's. (Debug runs: EEXIST or ENOENT
/// within a few hundred rounds; both serving is the narrower window and was not seen.)
#[test]
fn two_supervisors_racing_on_a_stale_socket_never_both_serve() {
    let dir = TempDir::new("review-sup-race");
    let path = dir.join("k.sock");
    let (mut both, mut eexist, mut rounds) = (0, 0, 0);
    let mut errs = std::collections::BTreeMap::<i32, usize>::new();
    let start = Instant::now();
    while rounds < 600 && start.elapsed() < Duration::from_secs(12) {
        rounds += 1;
        let _ = std::fs::remove_file(&path);
        stale_socket(&path);
        let gate = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (gate, path) = (gate.clone(), path.clone());
                std::thread::spawn(move || {
                    gate.wait();
                    Supervisor::bind(&path, Config::default())
                })
            })
            .collect();
        let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = rs.iter().filter(|r| r.is_ok()).count();
        if ok == 2 {
            both += 1;
        }
        for r in &rs {
            if let Err(e) = r {
                *errs.entry(e.raw()).or_default() += 1;
            }
        }
        eexist += rs
            .iter()
            .filter(|r| matches!(r, Err(e) if e.raw() == libc::EEXIST))
            .count();
        // (Drop both before the next round; a Drop removes the path, whoever's it is.)
        drop(rs);
        if both > 0 || errs.keys().any(|&e| e != libc::EADDRINUSE) {
            break;
        }
    }
    let others: usize = errs
        .iter()
        .filter(|(&e, _)| e != libc::EADDRINUSE)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        (both, others),
        (0, 0),
        "of {rounds} rounds: in {both} both supervisors served the one socket path (the first's \
         socket replaced by the second's); {eexist} times one was refused with EEXIST (\"something \
         other than a socket is at this path\") though only sockets were ever there; errors by \
         errno (98 EADDRINUSE is the expected one, 2 ENOENT, 17 EEXIST): {errs:?}"
    );
}
