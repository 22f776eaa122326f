//! C programs under stress, as attackers would run them: a storm of signals at every thread of
//! a server and its clients (`capi/tests/c/signal_storm.c`), on a program's own kernel and on a
//! supervised one. It found that a handler's kernel call during a thread's first call
//! registered the thread's binding twice (dropped twice at the thread's end): the binding is
//! now touched and attached with the thread's signals blocked (userlib's `current.rs`).

mod common;
#[path = "../../kernel-sim/tests/support/procs.rs"]
#[allow(dead_code)]
mod procs;

use common::cc::{build, c_dir, expect_pass, Lang, Link};
use common::{env, socket_in, Sup};
use procs::TempDir;
use std::time::Duration;

#[test]
fn round_trips_survive_a_signal_storm_on_their_own_kernel_and_a_shared_one() {
    let dir = TempDir::new("c-storm");
    let exe = dir.join("signal_storm");
    build(
        &[c_dir().join("signal_storm.c")],
        &exe,
        Lang::C99,
        Link::Shared,
    );
    // Several runs: the races it looks for are a matter of timing.
    for _ in 0..8 {
        expect_pass(&exe, &[], &[], 7, Duration::from_secs(60));
    }
    let socket = socket_in(&dir);
    let _sup = Sup::start(&socket, &[]);
    let env = env(&socket);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..4 {
        expect_pass(&exe, &[], &env, 7, Duration::from_secs(60));
    }
}
