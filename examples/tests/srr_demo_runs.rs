//! The SRR demo works for every option value it accepts, shows what it promises, and refuses
//! the values it does not accept.

mod common;

use common::{assert_refused, run};

const BIN: &str = env!("CARGO_BIN_EXE_srr-demo");

/// The part-2 summary line for `clients` clients of `rounds` round trips each.
fn counters_line(clients: u64, rounds: u64) -> String {
    let m = clients * rounds;
    format!(
        "client pid 3: {m} sent, server pid 2: {m} received, {m} replies, {clients} closing pulse(s)"
    )
}

#[test]
fn srr_demo_shows_the_three_blocked_states_and_counts_kernel_entries() {
    let r = run(BIN, &["--rounds", "200", "--clients", "3"]);
    r.assert_success("srr-demo --clients 3");
    for want in [
        "RECEIVE (chid 1)",
        "REPLY (pid 2 chid 1, received by tid 1)",
        "SEND (pid 2 chid 1)",
        "server: received \"urgent\" from tid 3 at priority 15",
        "kernel entries",
        &counters_line(3, 200),
    ] {
        assert!(
            r.stdout.contains(want),
            "output lacks {want:?}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn srr_demo_completes_with_any_client_count_and_its_counters_add_up() {
    for clients in [1u64, 2, 3, 5] {
        let n = clients.to_string();
        let r = run(BIN, &["--clients", &n, "--rounds", "20"]);
        r.assert_success(&format!("srr-demo --clients {n}"));
        // Part 1: the first message and one from each queued client.
        let served = r.stdout.matches("server: received").count() as u64;
        assert_eq!(served, clients + 1, "--clients {n}:\n{}", r.stdout);
        let want = counters_line(clients, 20);
        assert!(
            r.stdout.contains(&want),
            "--clients {n}: no {want:?} in\n{}",
            r.stdout
        );
    }
}

#[test]
fn srr_demo_serves_the_queue_by_priority_then_in_arrival_order() {
    let r = run(BIN, &["--clients", "5", "--rounds", "1"]);
    r.assert_success("srr-demo --clients 5");
    let served: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("server: received") && l.contains(" at priority "))
        .collect();
    assert_eq!(
        served,
        [
            "server: received \"urgent\" from tid 3 at priority 15",
            "server: received \"second\" from tid 2 at priority 11",
            "server: received \"fourth\" from tid 4 at priority 11",
            "server: received \"fifth\" from tid 5 at priority 11",
            "server: received \"sixth\" from tid 6 at priority 11",
        ],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FIFO among equals"), "{}", r.stdout);
}

#[test]
fn srr_demo_sends_empty_messages_with_size_0() {
    let r = run(BIN, &["--size", "0", "--clients", "2", "--rounds", "50"]);
    r.assert_success("srr-demo --size 0");
    assert!(
        r.stdout.contains("0-byte message and reply"),
        "{}",
        r.stdout
    );
    let want = counters_line(2, 50);
    assert!(r.stdout.contains(&want), "no {want:?} in\n{}", r.stdout);
}

#[test]
fn srr_demo_with_rounds_0_reports_no_round_trips_instead_of_dividing_by_zero() {
    let r = run(BIN, &["--rounds", "0", "--clients", "2"]);
    r.assert_success("srr-demo --rounds 0");
    assert!(r.stdout.contains("no round trips"), "{}", r.stdout);
    for bad in ["inf", "NaN", "round trips/s"] {
        assert!(
            !r.stdout.contains(bad),
            "output shows {bad:?}:\n{}",
            r.stdout
        );
    }
    let want = counters_line(2, 0);
    assert!(r.stdout.contains(&want), "no {want:?} in\n{}", r.stdout);
}

#[test]
fn srr_demo_refuses_out_of_range_options_naming_them() {
    for (args, option) in [
        (&["--clients", "0"][..], "--clients"),
        (&["--clients", "65"], "--clients"),
        (&["--clients", "-1"], "--clients"),
        (&["--clients", "two"], "--clients"),
        (&["--rounds", "-1"], "--rounds"),
        (&["--rounds", "1000000001"], "--rounds"),
        (&["--size", "65537"], "--size"),
        (&["--size", "-1"], "--size"),
        (&["--speed", "1"], "--speed"),
    ] {
        assert_refused(BIN, args, option);
    }
}
