//! The SRR demo works for every option value it accepts, shows what it promises, and refuses
//! the values it does not accept.

#[allow(dead_code)] // (each test binary uses a part of it)
mod common;

use common::{assert_kernel_removed, assert_refused, number_after, run};

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

#[test]
fn srr_demo_pidin_shows_the_kernel_half_way_through_part_2() {
    let r = run(BIN, &["--clients", "2", "--rounds", "2000", "--pidin"]);
    r.assert_success("srr-demo --pidin");
    let text = &r.stdout;
    let at = text
        .find("--- pidin: part 2, half of the 4000 round trips done")
        .unwrap_or_else(|| panic!("no listing in\n{text}"));
    let listing = &text[at..text.find("--- round trips:").expect("part 2's report")];
    for want in [
        "PID THREADS   KENTRIES      SENT  RECEIVED  REPLIES",
        "channel pid 2 chid 1: ",
        "-> pid 2 chid 1 (scoid ",
        "kernel entries ",
        "in use: 2 of 64 processes, ",
    ] {
        assert!(listing.contains(want), "no {want:?} in\n{listing}");
    }
    // Both processes' rows: the server has received, the clients have sent, half-way.
    let row = |pid: &str| -> Vec<u64> {
        let l = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(pid))
            .unwrap_or_else(|| panic!("no row for pid {pid} in\n{listing}"));
        // (The counters; the last column is the program's name.)
        l.split_whitespace()
            .take(9)
            .map(|w| w.parse().unwrap())
            .collect()
    };
    let (server, clients) = (row("2"), row("3"));
    assert!(
        server[4] >= 2000,
        "the server has received half: {server:?}"
    );
    assert!(
        clients[3] >= 2000,
        "the clients have sent half: {clients:?}"
    );
    // The two client threads of part 2, each running, readied, SEND- or REPLY-blocked.
    let client_threads = listing
        .lines()
        .filter(|l| l.split_whitespace().next() == Some("3"))
        .filter(|l| {
            ["RUNNING", "READY", "SEND (", "REPLY ("]
                .iter()
                .any(|s| l.contains(s))
        })
        .count();
    assert_eq!(client_threads, 2, "{listing}");
}

#[test]
fn srr_demo_with_processes_runs_the_server_and_the_clients_as_programs_of_their_own() {
    let r = run(BIN, &["--processes", "--clients", "3", "--rounds", "200"]);
    r.assert_success("srr-demo --processes");
    let text = &r.stdout;
    let spid = number_after(text, "server program pid ");
    let cpid = number_after(text, "(client program pid ");
    let c2pid = number_after(text, "(part 2: client program pid ");
    assert!(
        ![spid, cpid, c2pid, i64::from(r.pid)]
            .windows(2)
            .any(|w| w[0] == w[1]),
        "four Linux processes: {spid} {cpid} {c2pid} {}",
        r.pid
    );
    for want in [
        format!("{spid}    1    10    10  RECEIVE (chid 1)"),
        format!("{cpid}    1    10    10  REPLY (pid {spid} chid 1, received by tid 1)"),
        format!("{cpid}    3    15    15  SEND (pid {spid} chid 1)"),
        format!("{spid}    1    15    10  RUNNING"),
        format!("server: received \"first\" from pid {cpid} tid 1 (priority 10)"),
        "server: received \"urgent\" from tid 3 at priority 15".to_string(),
        "FIFO among equals".to_string(),
        // 3 per round trip, and a few per client for attach, closing pulse and detach.
        "kernel       3.0".to_string(),
        format!(
            "client pid {c2pid}: 600 sent, server pid {spid}: 600 received, 600 replies, 3 closing pulse(s)"
        ),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    assert_kernel_removed("srr-demo", r.pid);
}

#[test]
fn srr_demo_with_processes_and_pidin_shows_the_programs_mid_stream() {
    let r = run(
        BIN,
        &[
            "--processes",
            "--pidin",
            "--clients",
            "2",
            "--rounds",
            "2000",
        ],
    );
    r.assert_success("srr-demo --processes --pidin");
    let text = &r.stdout;
    let spid = number_after(text, "server program pid ");
    let c2pid = number_after(text, "(part 2: client program pid ");
    let at = text
        .find("--- pidin: part 2, half of the 4000 round trips done")
        .unwrap_or_else(|| panic!("no listing in\n{text}"));
    let listing = &text[at..];
    for want in [
        format!("channel pid {spid} chid 1: "),
        format!("of pid {c2pid} -> pid {spid} chid 1"),
        "in use: 2 of 64 processes, ".to_string(),
    ] {
        assert!(listing.contains(&want), "no {want:?} in\n{listing}");
    }
    assert_kernel_removed("srr-demo", r.pid);
}

#[test]
fn srr_demo_refuses_a_bad_peer_and_a_role_without_its_launcher() {
    assert_refused(BIN, &["--role", "part2-clients", "--peer", "12"], "--peer");
    assert_refused(BIN, &["--role", "nobody"], "--role");
    assert_refused(BIN, &["--processes", "--clients", "0"], "--clients");
    // A role is for the programs a --processes run starts itself: alone, it does nothing.
    let r = run(BIN, &["--role", "server"]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr
            .contains("--role is for the programs of a --processes run"),
        "{}",
        r.stderr
    );
}

/// Every example program answers `--version` with its own name and the workspace's version.
#[test]
fn every_example_prints_its_name_and_version() {
    for (name, bin) in [
        ("srr-demo", BIN),
        ("event-loop", env!("CARGO_BIN_EXE_event-loop")),
        ("sensors", env!("CARGO_BIN_EXE_sensors")),
        ("echo-server", env!("CARGO_BIN_EXE_echo-server")),
        ("echo-client", env!("CARGO_BIN_EXE_echo-client")),
        ("dev-sample", env!("CARGO_BIN_EXE_dev-sample")),
        ("dev-sample-client", env!("CARGO_BIN_EXE_dev-sample-client")),
        ("name-server", env!("CARGO_BIN_EXE_name-server")),
        ("name-client", env!("CARGO_BIN_EXE_name-client")),
    ] {
        let r = run(bin, &["--version"]);
        r.assert_success(&format!("{name} --version"));
        assert_eq!(
            r.stdout,
            format!("{name} {}\n", env!("CARGO_PKG_VERSION")),
            "{name}"
        );
    }
}
