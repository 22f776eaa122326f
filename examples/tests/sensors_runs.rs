//! The sensors example delivers every reading under both models, and asyncmsg's batching
//! shows in the producer's kernel entries per message.

use std::process::Command;

/// Runs the example with `--json` and returns its one JSON object.
fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sensors"))
        .args(args)
        .arg("--json")
        .output()
        .expect("the example runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sensors {args:?} failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let a = run(&a_args);
    let mut s_args = COMMON.to_vec();
    s_args.extend(["--model", "srr"]);
    let s = run(&s_args);

    for (json, model) in [(&a, "asyncmsg"), (&s, "srr")] {
        assert_eq!(field(json, "model"), format!("\"{model}\""));
        for key in [
            "messages_sent",
            "messages_received",
            "batches",
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
        assert_eq!(num(json, "messages_received"), sent, "{json}");
        assert_eq!(num(json, "lost"), 0.0, "{json}");
        assert_eq!(num(json, "duplicated"), 0.0, "{json}");
        assert_eq!(field(json, "ok"), "true", "{json}");
        assert!(num(json, "kernel_entries") > 0.0, "{json}");
        assert!(num(json, "msgs_per_s") > 0.0 && num(json, "elapsed_s") > 0.0);
    }

    // SRR: one batch and at least one kernel entry (the MsgSend) per message.
    assert_eq!(num(&s, "batches"), num(&s, "messages_sent"), "{s}");
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
    let a = run(&[
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
