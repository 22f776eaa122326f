//! `Kernel::trace_start`: a recording of the kernel's trace ring, started from a snapshot
//! taken with it. (A binary of its own: its calls are traced through the ring, with no
//! `tracing` subscriber, while trace_events.rs's tests install scoped ones.)

use kernel_sim::{Config, Kernel};

/// `Kernel::trace_start` starts a recording of the trace ring from a snapshot taken with it:
/// what happened before is in the snapshot and not read from the ring, what happens after is
/// read; ending it lets the ring go.
#[test]
fn a_recording_starts_from_the_snapshot_taken_with_it() {
    let k = Kernel::new(Config::default()).unwrap();
    let p = k.process_create().unwrap();
    let t = k.thread_attach(p, 10).unwrap();
    let chid = t.channel_create(0).unwrap();
    let (mut reader, snap) = k.trace_start(std::process::id() as i32).unwrap();
    assert!(snap
        .threads
        .iter()
        .any(|th| th.pid == p.pid && th.tid == t.tid()));
    assert!(snap
        .channels
        .iter()
        .any(|c| c.pid == p.pid && c.chid == chid));
    assert_eq!(
        k.trace_start(std::process::id() as i32 + 1).err(),
        Some(kernel_sim::Errno::EBUSY),
        "one recorder at a time"
    );
    t.channel_destroy(chid).unwrap();
    let mut out = Vec::new();
    reader.finish_into(&mut out);
    let calls: Vec<&str> = out
        .iter()
        .filter_map(|d| d.string.as_ref().map(|(_, s)| s.as_str()))
        .collect();
    assert!(!calls.contains(&"ChannelCreate"), "{calls:?}");
    assert!(calls.contains(&"ChannelDestroy"), "{calls:?}");
    let destroy = out
        .iter()
        .find(|d| {
            d.string
                .as_ref()
                .is_some_and(|(_, s)| s == "ChannelDestroy")
        })
        .unwrap();
    assert_eq!(destroy.int("chid"), Some(i64::from(chid)));
    drop(reader);
    assert!(!k.trace_ring().recording());
}
