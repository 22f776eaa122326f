//! Review of the kernel's trace ring as its recorders use it (`kernel_sim::trace::Ring`,
//! `TimelineLayer::record_decoded`, `SeqChartLayer::record_decoded`/`name_process`): who holds
//! the ring when recorders come and go at once, and what the recorders make of records they
//! should not trust.
#![cfg(not(loom))]

use kernel_sim::trace::{self, Decoded, Kind};
use kernel_sim::{Config, Errno, Kernel};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn kernel() -> Kernel {
    Kernel::new(Config {
        trace_records: 64,
        ..Config::default()
    })
    .expect("a kernel")
}

/// Live Linux pids other than ours, to stand for other recorders (a recorder is refused with
/// EBUSY only while another live process holds the ring).
fn live_pids(n: usize) -> (Vec<i32>, Vec<std::process::Child>) {
    let mut kids = Vec::new();
    let mut pids = vec![std::process::id() as i32];
    while pids.len() < n {
        let c = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        pids.push(c.id() as i32);
        kids.push(c);
    }
    (pids, kids)
}

/// Recorders of several processes starting and stopping at once: at most one holds the ring
/// at a time (the others get EBUSY), and once every one has stopped the ring is off. The ring's
/// `start` was a check and then stores, so two could both find the ring free and both record,
/// and a recorder stopping while another started could leave the ring recording with no
/// holder (its flag on, the holder's pid 0): the new recorder's stop then left it on, and a
/// third could start beside it.
#[test]
fn recorders_starting_and_stopping_at_once_hold_the_ring_one_at_a_time() {
    let k = kernel();
    let (pids, mut kids) = live_pids(4);
    let holders = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(2);
    let go = Arc::new(Barrier::new(pids.len()));
    std::thread::scope(|s| {
        for &pid in &pids {
            let (k, holders, most, go) = (&k, &holders, &most, &go);
            s.spawn(move || {
                go.wait();
                let mut out = Vec::new();
                while Instant::now() < until {
                    match k.trace_ring().start(pid) {
                        Ok(mut r) => {
                            let n = holders.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(n, Ordering::SeqCst);
                            r.poll(&mut out);
                            out.clear();
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(r);
                        }
                        Err(e) => assert_eq!(e, Errno::EBUSY),
                    }
                }
            });
        }
    });
    for c in &mut kids {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "two recorders held the ring at once"
    );
    assert!(
        !k.trace_ring().recording(),
        "every recorder stopped, and the ring still records"
    );
}

fn state(ns: u64, pid: i32, tid: i32, st: &str) -> Decoded {
    Decoded {
        ns,
        kind: Kind::State,
        what: trace::what::STATE,
        pid,
        tid,
        ints: vec![("peer_pid", 0), ("chid", -1)],
        string: Some(("state", st.to_string())),
    }
}

/// A record stamped far in the future (a stray write to the ring, or a `Decoded` a program
/// makes itself): the timeline stamps it no later than the present. It was stamped as it
/// said, and every event after it (each stamped at least 2 ns after the one before) with it,
/// centuries after the recording; events before the recording's origin are at its start, and
/// events at the same time keep their order.
#[test]
fn the_timeline_stamps_a_record_from_the_future_no_later_than_now() {
    let dir = std::env::temp_dir().join(format!("trace-ring-review-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("future.json");
    let (layer, guard) = userlib::timeline::TimelineLayer::new(&path).unwrap();
    let now = trace::monotonic_ns();
    layer.record_decoded(&state(0, 2, 1, "READY")); // before the recording began
    layer.record_decoded(&state(now, 2, 1, "RUNNING"));
    layer.record_decoded(&state(now, 2, 1, "READY")); // the same time
    layer.record_decoded(&state(u64::MAX, 2, 1, "SEND"));
    layer.record_decoded(&state(now + 1, 2, 1, "RECEIVE"));
    layer.record_decoded(&state(u64::MAX - 1, 2, 1, "REPLY"));
    let w = guard.finish().expect("written");
    assert_eq!(w.recorded, 6);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let ts: Vec<f64> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "state" && e["ph"] == "B")
        .map(|e| e["ts"].as_f64().unwrap())
        .collect();
    assert_eq!(ts.len(), 6);
    assert!(ts.windows(2).all(|p| p[0] < p[1]), "{ts:?}");
    // No stamp past the end of the recording (an hour is plenty).
    assert!(ts.iter().all(|t| *t < 3.6e9), "{ts:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program's name is the last part of its argv[0], which may hold any character but NUL;
/// XML 1.0 allows no control character (not even escaped), so a chart naming such a program
/// was not an SVG a browser shows. The chart shows them as U+FFFD; `<`, `&` and quotes are
/// escaped.
#[test]
fn a_program_name_with_control_characters_keeps_the_chart_valid_xml() {
    let (layer, guard) = userlib::seqchart::memory(userlib::seqchart::Options::default());
    let created = |pid: i32, name: &str| Decoded {
        ns: 1,
        kind: Kind::Process,
        what: trace::what::CREATED,
        pid,
        tid: 0,
        ints: vec![],
        string: Some(("name", name.to_string())),
    };
    layer.record_decoded(&created(2, "evil\u{1b}[31m\u{7}<b>&\"'"));
    layer.name_process(3, "tab\there\u{0}\u{fffe}");
    for pid in [2, 3] {
        layer.record_decoded(&state(1, pid, 1, "RECEIVE"));
        layer.record_decoded(&state(2, pid, 1, "READY"));
    }
    let svg = guard.svg();
    let bad: Vec<char> = svg
        .chars()
        .filter(|c| {
            (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                || matches!(c, '\u{fffe}' | '\u{ffff}')
        })
        .collect();
    assert!(bad.is_empty(), "characters XML does not allow: {bad:?}");
    assert!(svg.contains("evil\u{fffd}[31m\u{fffd}&lt;b&gt;&amp;&quot;&apos;, pid 2"));
    assert!(svg.contains("tab\u{fffd}here\u{fffd}\u{fffd}, pid 3"));
}

/// Records of any content (what a ring in another process's hands may give, or a program's
/// own `Decoded`): odd ids, kinds and `what`s that do not go together, fields missing or
/// extra, extreme values and times. Both recorders take them and write their files without
/// a panic, the timeline as JSON. (A guard: nothing to fix.)
#[test]
fn any_records_go_through_both_recorders() {
    let dir = std::env::temp_dir().join(format!("trace-ring-any-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("any.json");
    let (timeline, tguard) = userlib::timeline::TimelineLayer::new(&path).unwrap();
    let (chart, cguard) = userlib::seqchart::memory(userlib::seqchart::Options {
        max_rows: Some(40),
        title: Some("<any> & \"all\"".into()),
    });
    let kinds = [
        Kind::Call,
        Kind::State,
        Kind::Prio,
        Kind::Msg,
        Kind::Pulse,
        Kind::Async,
        Kind::Timer,
        Kind::Teardown,
        Kind::Process,
    ];
    use trace::what as w;
    let whats = [
        w::ENTER,
        w::EXIT,
        w::STATE,
        w::PRIO,
        w::SEND,
        w::RECEIVE,
        w::REPLY,
        w::QUEUED,
        w::RECEIVED,
        w::PUT,
        w::TRIGGER,
        w::GET,
        w::FIRED,
        w::TEARDOWN,
        w::CREATED,
    ];
    let names = [
        "peer_pid", "peer_tid", "chid", "rcvid", "exchange", "bytes", "status", "error",
        "msg_type", "code", "value", "pulse", "coid", "messages", "batch", "timer", "result",
        "prio", "base",
    ];
    let strs = ["call", "state", "why", "kind", "step", "name"];
    let extremes = [0, 1, -1, 2, 3, i64::MIN, i64::MAX, 0x101, 0xffff, -4096];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let now = trace::monotonic_ns();
    for _ in 0..20_000 {
        let pick = |r: u64, n: usize| (r % n as u64) as usize;
        let ints = (0..pick(rnd(), 8))
            .map(|_| {
                let v = if rnd() % 2 == 0 {
                    extremes[pick(rnd(), extremes.len())]
                } else {
                    (rnd() % 7) as i64 - 1
                };
                (names[pick(rnd(), names.len())], v)
            })
            .collect();
        let string = (rnd() % 3 != 0).then(|| {
            let s = [
                "RECEIVE",
                "REPLY",
                "SEND",
                "READY",
                "",
                "a\u{0}<&>\"'\u{1b}",
                "MsgSend",
            ][pick(rnd(), 7)];
            (strs[pick(rnd(), strs.len())], s.to_string())
        });
        let d = Decoded {
            ns: match rnd() % 4 {
                0 => 0,
                1 => u64::MAX,
                _ => now + rnd() % 1_000_000,
            },
            kind: kinds[pick(rnd(), kinds.len())],
            what: whats[pick(rnd(), whats.len())],
            pid: [0, 1, 2, 3, -1, i32::MIN, i32::MAX][pick(rnd(), 7)],
            tid: [0, 1, 2, -1, i32::MAX][pick(rnd(), 5)],
            ints,
            string,
        };
        timeline.record_decoded(&d);
        chart.record_decoded(&d);
    }
    let svg = cguard.svg();
    assert!(svg.contains("</svg>"));
    cguard.finish().unwrap();
    tguard.finish().expect("written");
    let _: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).expect("JSON");
    let _ = std::fs::remove_dir_all(&dir);
}
