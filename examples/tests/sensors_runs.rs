//! The sensors example delivers every reading under both models, asyncmsg's batching shows in
//! the producer's kernel entries per message, each model reports only the figures that apply
//! to it, and out-of-range or inapplicable options are refused.

#[allow(dead_code)] // (each test binary uses a part of it)
mod common;

use common::{assert_kernel_removed, assert_refused, number_after, run};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sensors");

/// Runs the example with `--json` and returns its one JSON object.
fn json(args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.push("--json");
    let r = run(BIN, &all);
    r.assert_success(&format!("sensors {all:?}"));
    let text = r.stdout;
    let t = text.trim();
    assert!(
        t.starts_with('{') && t.ends_with('}') && t.lines().count() == 1,
        "not exactly one JSON object:\n{text}"
    );
    t.to_string()
}

/// The raw value of top-level `key` (the first occurrence: top-level keys come first).
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let at = json
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key:?} in {json}"))
        + pat.len();
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end].trim()
}

fn num(json: &str, key: &str) -> f64 {
    field(json, key)
        .parse()
        .unwrap_or_else(|_| panic!("{key:?} is not a number in {json}"))
}

const COMMON: &[&str] = &[
    "--sensors",
    "4",
    "--rate",
    "1000",
    "--msg-size",
    "64",
    "--duration-ms",
    "300",
];

#[test]
fn both_models_deliver_every_reading_and_asyncmsg_batches() {
    let mut a_args = COMMON.to_vec();
    a_args.extend([
        "--model",
        "asyncmsg",
        "--trigger-num-msg",
        "16",
        "--trigger-time-ms",
        "10",
    ]);
    let a = json(&a_args);
    let mut s_args = COMMON.to_vec();
    s_args.extend(["--model", "srr"]);
    let s = json(&s_args);

    for (json, model) in [(&a, "asyncmsg"), (&s, "srr")] {
        assert_eq!(field(json, "model"), format!("\"{model}\""));
        for key in [
            "messages_sent",
            "messages_received",
            "kernel_entries",
            "consumer_kernel_entries",
            "kernel_entries_per_message",
            "msgs_per_s",
            "elapsed_s",
        ] {
            assert!(num(json, key) >= 0.0, "{key} in {json}");
        }
        let sent = num(json, "messages_sent");
        // 4 sensors x 1000 samples/s x 0.3 s.
        assert_eq!(sent, 1200.0, "{json}");
        assert_eq!(num(json, "requested_per_sensor"), 300.0, "{json}");
        assert_eq!(field(json, "rate_kept"), "true", "{json}");
        assert_eq!(num(json, "messages_received"), sent, "{json}");
        assert_eq!(num(json, "lost"), 0.0, "{json}");
        assert_eq!(num(json, "duplicated"), 0.0, "{json}");
        assert_eq!(field(json, "ok"), "true", "{json}");
        assert!(num(json, "kernel_entries") > 0.0, "{json}");
        assert!(num(json, "msgs_per_s") > 0.0 && num(json, "elapsed_s") > 0.0);
    }

    // SRR: at least one kernel entry (the MsgSend) per message.
    let srr_epm = num(&s, "kernel_entries_per_message");
    assert!(srr_epm >= 1.0, "{s}");

    // asyncmsg: batches of about 16 readings (a consumer that falls behind takes several at
    // once; a time trigger may cut one short); the producer enters the kernel once per batch
    // plus timer arming and its library thread's pulse receives: far less often than SRR.
    let batches = num(&a, "batches");
    assert!((1.0..600.0).contains(&batches), "{a}");
    let async_epm = num(&a, "kernel_entries_per_message");
    assert!(
        async_epm < 0.2,
        "asyncmsg kernel entries per message {async_epm}: {a}"
    );
    assert!(
        async_epm * 5.0 < srr_epm,
        "asyncmsg {async_epm} vs SRR {srr_epm}"
    );
}

#[test]
fn asyncmsg_time_trigger_alone_delivers_everything() {
    let a = json(&[
        "--sensors",
        "2",
        "--rate",
        "1000",
        "--duration-ms",
        "100",
        "--trigger-num-msg",
        "0",
        "--trigger-time-ms",
        "5",
    ]);
    assert_eq!(num(&a, "messages_sent"), 200.0, "{a}");
    assert_eq!(num(&a, "messages_received"), 200.0, "{a}");
    assert_eq!(field(&a, "ok"), "true", "{a}");
}

/// The figures that only asyncmsg has: its triggers, batches and library.
const ASYNCMSG_ONLY: [&str; 5] = [
    "trigger_num_msg",
    "trigger_time_ms",
    "batches",
    "sender_triggers",
    "library_kernel_entries",
];

const SHORT: &[&str] = &["--sensors", "2", "--rate", "1000", "--duration-ms", "100"];

#[test]
fn srr_model_reports_none_of_the_asyncmsg_only_figures() {
    let mut args = SHORT.to_vec();
    args.extend(["--model", "srr"]);
    let r = run(BIN, &args);
    r.assert_success("sensors --model srr");
    for word in ["trigger", "batch", "library"] {
        assert!(
            !r.stdout.contains(word),
            "srr's summary mentions {word:?}:\n{}",
            r.stdout
        );
    }
    let s = json(&args);
    for key in ASYNCMSG_ONLY {
        assert_eq!(field(&s, key), "null", "{key} in {s}");
    }
    assert_eq!(field(&s, "ok"), "true", "{s}");
}

#[test]
fn asyncmsg_model_reports_its_triggers_batches_and_library_entries() {
    let mut args = SHORT.to_vec();
    args.extend(["--model", "asyncmsg", "--trigger-num-msg", "8"]);
    let r = run(BIN, &args);
    r.assert_success("sensors --model asyncmsg");
    for want in [
        "trigger_num_msg 8, trigger_time 10 ms",
        "batches received",
        "sender triggers",
        "library",
    ] {
        assert!(r.stdout.contains(want), "no {want:?} in\n{}", r.stdout);
    }
    let a = json(&args);
    assert_eq!(num(&a, "trigger_num_msg"), 8.0, "{a}");
    assert_eq!(num(&a, "trigger_time_ms"), 10.0, "{a}");
    for key in ["batches", "sender_triggers", "library_kernel_entries"] {
        assert!(num(&a, key) >= 1.0, "{key} in {a}");
    }
}

#[test]
fn sensors_refuses_out_of_range_and_inapplicable_options_naming_them() {
    for (args, option) in [
        (&["--sensors", "0"][..], "--sensors"),
        (&["--sensors", "65537"], "--sensors"),
        (&["--rate", "1000001"], "--rate"),
        (&["--rate", "-1"], "--rate"),
        (&["--msg-size", "31"], "--msg-size"),
        (&["--msg-size", "65537"], "--msg-size"),
        (&["--trigger-num-msg", "4097"], "--trigger-num-msg"),
        (&["--trigger-time-ms", "60001"], "--trigger-time-ms"),
        (&["--duration-ms", "0"], "--duration-ms"),
        (&["--duration-ms", "3600001"], "--duration-ms"),
        (&["--model", "udp"], "--model"),
        (
            &["--model", "srr", "--trigger-num-msg", "8"],
            "--trigger-num-msg",
        ),
        (
            &["--model", "srr", "--trigger-time-ms", "5"],
            "--trigger-time-ms",
        ),
        (
            &["--trigger-num-msg", "0", "--trigger-time-ms", "0"],
            "--trigger-num-msg",
        ),
        (
            &["--trigger-num-msg", "0", "--trigger-time-ms", "0"],
            "--trigger-time-ms",
        ),
    ] {
        assert_refused(BIN, args, option);
    }
}

/// The `--pidin` listing in `text`, from its title to the pools' line.
fn listing<'a>(text: &'a str, model: &str) -> &'a str {
    let title =
        format!("--- pidin: half-way through the sampling (150 ms of 300 ms, model {model})");
    let at = text
        .find(&title)
        .unwrap_or_else(|| panic!("no {title:?} in\n{text}"));
    let end = text[at..]
        .find(" interrupt attachments\n")
        .expect("the pools' line")
        + at
        + " interrupt attachments".len();
    &text[at..end]
}

#[test]
fn sensors_pidin_shows_the_asyncmsg_channel_and_the_producers_send_queue() {
    let mut args = COMMON.to_vec();
    args.push("--pidin");
    let r = run(BIN, &args);
    r.assert_success("sensors --pidin");
    let l = listing(&r.stdout, "asyncmsg");
    // The consumer (pid 3) owns the asyncmsg channel; each library has a private channel.
    let chan = l
        .lines()
        .find(|l| l.ends_with("flags 0x400 (_NTO_CHF_ASYNC)"))
        .unwrap_or_else(|| panic!("no asyncmsg channel in\n{l}"));
    assert!(chan.starts_with("channel pid 3 chid "), "{chan}");
    let chid = number_after(chan, "chid ");
    assert!(
        l.contains("\n  asyncmsg: 256 buffers of 64 bytes per receive; ready list: "),
        "{l}"
    );
    assert!(l.contains("flags 0x1000 (_NTO_CHF_PRIVATE)"), "{l}");
    // The producer's (pid 2) connection to it, with its send queue, half-way: readings taken
    // in batches, some perhaps still pending.
    let conn = format!("of pid 2 -> pid 3 chid {chid} (scoid ");
    let at = l
        .find(&conn)
        .unwrap_or_else(|| panic!("no {conn:?} in\n{l}"));
    let mut lines = l[at..].lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with("flags 0x40 (_NTO_COF_NOSHARE)"),
        "{l}"
    );
    let queue = lines.next().expect("the connection's asyncmsg line");
    let pending = number_after(queue, "  asyncmsg: ");
    let in_flight = number_after(queue, " pending (");
    let untriggered = number_after(queue, " in flight, ");
    let unreleased = number_after(queue, " untriggered), ");
    let batches = number_after(queue, " unreleased, ");
    let taken = number_after(queue, " batches, ");
    assert!(pending <= unreleased, "{queue}");
    assert_eq!(in_flight + untriggered, pending, "{queue}");
    assert!(
        batches >= 1 && taken >= 16,
        "half-way, batches were taken: {queue}"
    );
    // The processes' asyncmsg counters: the producer's triggers, what the consumer took.
    let row = |pid: &str| -> Vec<u64> {
        let row = l
            .lines()
            .find(|r| r.split_whitespace().next() == Some(pid))
            .unwrap_or_else(|| panic!("no row for pid {pid} in\n{l}"));
        // (The counters; the last column is the program's name.)
        row.split_whitespace()
            .take(9)
            .map(|w| w.parse().unwrap())
            .collect()
    };
    assert!(row("2")[6] >= 1, "the producer triggered: {l}");
    assert!(row("3")[8] >= 16, "the consumer took readings: {l}");
    assert!(r
        .stdout
        .contains("every reading arrived exactly once, in order"));
}

#[test]
fn sensors_with_processes_delivers_every_reading_between_two_programs() {
    let mut args = COMMON.to_vec();
    args.extend(["--processes", "--model", "srr", "--pidin"]);
    let r = run(BIN, &args);
    r.assert_success("sensors --processes --model srr");
    let text = &r.stdout;
    let cpid = number_after(text, "consumer program pid ");
    let ppid = number_after(text, "producer program pid ");
    for want in [
        format!("producer pid {ppid}, consumer pid {cpid} (Linux programs sharing one kernel)"),
        "messages sent 1200 / received 1200 (300 per sensor)".to_string(),
        "every reading arrived exactly once, in order".to_string(),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    let l = listing(text, "srr");
    for want in [
        format!("channel pid {cpid} chid 1: "),
        format!("coid 0x40000001 of pid {ppid} -> pid {cpid} chid 1"),
        "in use: 2 of 64 processes, 2 of 1024 threads".to_string(),
    ] {
        assert!(l.contains(&want), "no {want:?} in\n{l}");
    }
    assert_kernel_removed("sensors", r.pid);

    // The same as one JSON object, and nothing else.
    let mut args = COMMON.to_vec();
    args.extend(["--processes", "--model", "srr"]);
    let j = json(&args);
    assert_eq!(num(&j, "messages_received"), 1200.0, "{j}");
    assert_eq!(field(&j, "ok"), "true", "{j}");
    assert!(num(&j, "kernel_entries_per_message") >= 1.0, "{j}");
}

#[test]
fn sensors_refuses_pidin_with_json_a_bad_peer_and_a_role_without_its_launcher() {
    assert_refused(BIN, &["--pidin", "--json"], "--pidin");
    assert_refused(BIN, &["--role", "producer", "--peer", "x"], "--peer");
    assert_refused(
        BIN,
        &["--role", "consumer", "--start-ns", "soon"],
        "--start-ns",
    );
    assert_refused(BIN, &["--processes", "--sensors", "0"], "--sensors");
    let r = run(BIN, &["--role", "consumer", "--start-ns", "1"]);
    assert_eq!(r.status.code(), Some(1), "{r:?}");
    assert!(
        r.stderr
            .contains("--role is for the programs of a --processes run"),
        "{}",
        r.stderr
    );
}

#[test]
fn sensors_with_processes_batches_asyncmsg_between_two_programs() {
    let mut args = COMMON.to_vec();
    args.extend(["--processes", "--pidin"]);
    let r = run(BIN, &args);
    r.assert_success("sensors --processes (asyncmsg)");
    let text = &r.stdout;
    let cpid = number_after(text, "consumer program pid ");
    let ppid = number_after(text, "producer program pid ");
    for want in [
        format!("producer pid {ppid}, consumer pid {cpid} (Linux programs sharing one kernel)"),
        "messages sent 1200 / received 1200 (300 per sensor)".to_string(),
        "every reading arrived exactly once, in order".to_string(),
    ] {
        assert!(text.contains(&want), "no {want:?} in\n{text}");
    }
    // Half-way, the launcher (a third program) sees the producer's send queue: it is in the
    // kernel's region, so its counts are known ("-" otherwise).
    let l = listing(text, "asyncmsg");
    let chan = l
        .lines()
        .find(|l| l.ends_with("flags 0x400 (_NTO_CHF_ASYNC)"))
        .unwrap_or_else(|| panic!("no asyncmsg channel in\n{l}"));
    assert!(
        chan.starts_with(&format!("channel pid {cpid} chid ")),
        "{chan}"
    );
    let chid = number_after(chan, "chid ");
    let conn = format!("of pid {ppid} -> pid {cpid} chid {chid} (scoid ");
    let at = l
        .find(&conn)
        .unwrap_or_else(|| panic!("no {conn:?} in\n{l}"));
    let queue = l[at..]
        .lines()
        .nth(1)
        .expect("the connection's asyncmsg line");
    assert!(
        queue.starts_with("  asyncmsg: ") && !queue.contains(" - pending"),
        "{queue}"
    );
    assert!(number_after(queue, " batches, ") >= 16, "{queue}");
    assert_kernel_removed("sensors", r.pid);

    // The batching shows as between threads of one program: about one producer kernel entry
    // per 16 readings.
    let mut args = COMMON.to_vec();
    args.push("--processes");
    let j = json(&args);
    assert_eq!(num(&j, "messages_received"), 1200.0, "{j}");
    assert_eq!(field(&j, "ok"), "true", "{j}");
    assert!(num(&j, "batches") >= 1.0, "{j}");
    assert!(num(&j, "kernel_entries_per_message") < 0.2, "{j}");
}

/// How long sampling may overrun `--duration-ms` (the example's `CATCH_UP`), and a generous
/// bound on the rest of such a run (start, draining, the report) in a debug build.
const OVERRUN: Duration = Duration::from_millis(500);
const REST: Duration = Duration::from_secs(15);

/// `--duration-ms` bounds the sampling, whatever the load: 65536 sensors at 1 kHz for 200 ms
/// ask for 13 million readings, which took 12.5 s (release); 64 KiB readings at 1 MHz printed
/// nothing for a minute. The producer now stops half a second after the time is up, in the
/// middle of a tick if need be; every reading it sent arrives, and the report says the rate
/// was not reached (`rate_kept` false in JSON). Both models, and between two programs.
#[test]
fn duration_bounds_the_sampling_of_a_rate_the_producer_cannot_keep() {
    for extra in [&[][..], &["--model", "srr"][..], &["--processes"][..]] {
        let mut args = vec!["--sensors", "65536", "--duration-ms", "200"];
        args.extend_from_slice(extra);
        let t = Instant::now();
        let j = json(&args);
        let took = t.elapsed();
        assert!(
            took < Duration::from_millis(200) + OVERRUN + REST,
            "sensors {args:?} took {took:?}"
        );
        assert_eq!(num(&j, "requested_per_sensor"), 200.0, "{j}");
        assert_eq!(field(&j, "rate_kept"), "false", "{j}");
        let sent = num(&j, "messages_sent");
        assert!(sent > 0.0 && sent < 65536.0 * 200.0, "{args:?}: {sent}");
        assert_eq!(num(&j, "messages_received"), sent, "{args:?}");
        assert_eq!(num(&j, "lost"), 0.0, "{args:?}");
        assert_eq!(field(&j, "ok"), "true", "{args:?}");
        let elapsed = num(&j, "elapsed_s");
        assert!(
            elapsed < (Duration::from_millis(200) + OVERRUN + REST).as_secs_f64(),
            "{args:?}: {elapsed}"
        );
    }

    // The tester's second case, as text: a note says what was sent of what was asked.
    let t = Instant::now();
    let r = run(
        BIN,
        &[
            "--sensors",
            "65536",
            "--rate",
            "1000000",
            "--msg-size",
            "65536",
            "--duration-ms",
            "200",
        ],
    );
    let took = t.elapsed();
    r.assert_success("sensors at 1 MHz with 64 KiB readings");
    assert!(
        took < Duration::from_millis(200) + OVERRUN + REST,
        "{took:?}"
    );
    for want in [
        "note: the requested rate was not reached: the producer fell behind --rate 1000000",
        "of the 13107200000 readings asked (",
        " whole ticks of the 200000) before it stopped, 500 ms after the end of --duration-ms",
        "every reading arrived exactly once, in order",
    ] {
        assert!(
            r.stdout.contains(want),
            "no {want:?} in\n{}",
            &r.stdout[..2000.min(r.stdout.len())]
        );
    }
}

/// A rate that is kept has no note; unpaced (`--rate 0`) nothing is requested per sensor.
#[test]
fn a_kept_rate_has_no_note_and_unpaced_runs_request_nothing() {
    let r = run(BIN, SHORT);
    r.assert_success("sensors");
    assert!(r.stdout.contains("(100 per sensor)"), "{}", r.stdout);
    assert!(!r.stdout.contains("note:"), "{}", r.stdout);
    let j = json(&["--sensors", "2", "--rate", "0", "--duration-ms", "50"]);
    assert_eq!(field(&j, "requested_per_sensor"), "null", "{j}");
    assert_eq!(field(&j, "rate_kept"), "null", "{j}");
    assert_eq!(field(&j, "ok"), "true", "{j}");
}
