//! An interrupt's raise in a timeline: a global instant, "interrupt N raised", saying whether
//! it was delivered now, and in the kernel's trace ring for `pidin-sim --trace`.

use kernel_sim::types::SigEvent;
use kernel_sim::{Config, Kernel};
use tracing_subscriber::layer::SubscriberExt;
use userlib::timeline::TimelineLayer;

#[test]
fn a_raise_is_a_global_instant_saying_where_it_went() {
    let path = std::env::temp_dir().join(format!("qnx-timeline-intr-{}.json", std::process::id()));
    let k = Kernel::new(Config::small()).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let _id = t.interrupt_attach_event(5, &SigEvent::intr(), 0).unwrap();
    let (layer, guard) = TimelineLayer::with_capacity(&path, 1024).unwrap();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(k.interrupt_raise(5), Ok(1));
        assert_eq!(k.interrupt_raise(5), Ok(0), "masked by the first");
    });
    guard.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let root: serde_json::Value = serde_json::from_str(&text).unwrap();
    let raised: Vec<&serde_json::Value> = root["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["cat"] == "interrupt")
        .collect();
    assert_eq!(raised.len(), 2, "{text}");
    assert_eq!(raised[0]["name"], "interrupt 5 raised (to 1 attachment(s))");
    assert_eq!(raised[1]["name"], "interrupt 5 raised (not delivered now)");
    for e in &raised {
        assert_eq!((e["ph"].as_str(), e["s"].as_str()), (Some("i"), Some("g")));
        assert_eq!(e["args"]["level"], 5);
    }
    assert!(raised[0]["ts"].as_f64() <= raised[1]["ts"].as_f64());
}

#[test]
fn a_raise_is_in_the_trace_ring_for_a_recorder() {
    let k = Kernel::new(Config::small()).unwrap();
    let (mut reader, _snapshot) = k.trace_start(std::process::id() as i32).unwrap();
    assert_eq!(k.interrupt_raise(9), Ok(0), "nothing attached");
    let mut events = Vec::new();
    reader.finish_into(&mut events);
    let e = events
        .iter()
        .find(|e| e.kind.target() == "qnx::intr")
        .unwrap_or_else(|| panic!("no qnx::intr event in {events:?}"));
    assert_eq!((e.pid, e.tid, e.what), (0, 0, "raised"));
    assert_eq!(e.ints, vec![("level", 9), ("delivered", 0)]);
}
