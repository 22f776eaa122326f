//! The timeline recorder (userlib::timeline): a known scenario, emitted through
//! `kernel_sim::trace`'s functions (what the kernel emits), written and parsed back; the
//! structure Perfetto needs is checked: metadata naming every process and thread, B/E pairs per
//! track, state spans tiling their track, flows from send to receive to reply bound to the
//! right call slices, the priority counter, nothing left open.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use kernel_sim::trace::{self, MsgEvent};
use serde_json::Value;
use support::asyncmsg::*;
use support::*;
use tracing_subscriber::layer::SubscriberExt;
use userlib::asyncmsg::*;
use userlib::consts::*;
use userlib::qnx;
use userlib::timeline::{self, TimelineLayer};

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("qnx-timeline-{}-{name}.json", std::process::id()))
}

/// The parsed file.
struct Trace {
    events: Vec<Value>,
    other: Value,
    /// (pid, tid) of a track by its pid and thread name; process name by pid.
    tracks: HashMap<(u64, String), (u64, u64)>,
    processes: BTreeMap<u64, String>,
}

impl Trace {
    fn read(path: &PathBuf) -> Trace {
        let text = std::fs::read_to_string(path).expect("the timeline file");
        let root: Value = serde_json::from_str(&text).expect("the file is JSON");
        let events = root["traceEvents"]
            .as_array()
            .expect("a traceEvents array")
            .clone();
        let mut tracks = HashMap::new();
        let mut processes = BTreeMap::new();
        for ev in &events {
            if ev["ph"] == "M" && ev["name"] == "thread_name" {
                let name = ev["args"]["name"].as_str().unwrap().to_string();
                let at = (ev["pid"].as_u64().unwrap(), ev["tid"].as_u64().unwrap());
                let dup = tracks.insert((at.0, name.clone()), at);
                assert!(dup.is_none(), "two tracks named {name} in {}", at.0);
            }
            if ev["ph"] == "M" && ev["name"] == "process_name" {
                let name = ev["args"]["name"].as_str().unwrap().to_string();
                processes.insert(ev["pid"].as_u64().unwrap(), name);
            }
        }
        Trace {
            events,
            other: root["otherData"].clone(),
            tracks,
            processes,
        }
    }

    fn pid_of(&self, process: &str) -> u64 {
        *self
            .processes
            .iter()
            .find(|(_, n)| *n == process)
            .unwrap_or_else(|| panic!("no process {process}: {:?}", self.processes))
            .0
    }

    /// The track of `thread` in `process`.
    fn track(&self, process: &str, thread: &str) -> (u64, u64) {
        *self
            .tracks
            .get(&(self.pid_of(process), thread.to_string()))
            .unwrap_or_else(|| panic!("no track {thread} in {process}: {:?}", self.tracks.keys()))
    }

    fn on(&self, at: (u64, u64)) -> impl Iterator<Item = &Value> {
        self.events.iter().filter(move |e| {
            e["ph"] != "M" && e["pid"].as_u64() == Some(at.0) && e["tid"].as_u64() == Some(at.1)
        })
    }

    /// The slices of a track: (name, begin ns, end ns, depth, E's args), from B/E and X.
    fn slices(&self, at: (u64, u64)) -> Vec<(String, u64, u64, usize, Value)> {
        let mut open: Vec<(String, u64)> = Vec::new();
        let mut done = Vec::new();
        for e in self.on(at) {
            let name = e["name"].as_str().unwrap_or("").to_string();
            match e["ph"].as_str().unwrap() {
                "B" => open.push((name, ns(e))),
                "E" => {
                    let (bname, b) = open.pop().unwrap_or_else(|| panic!("E without B: {e}"));
                    assert_eq!(bname, name, "E closes the B on top");
                    assert!(ns(e) >= b, "E after its B");
                    done.push((name, b, ns(e), open.len(), e["args"].clone()));
                }
                "X" => {
                    let d = (e["dur"].as_f64().unwrap() * 1000.0).round() as u64;
                    done.push((name, ns(e), ns(e) + d, open.len(), e["args"].clone()));
                }
                _ => {}
            }
        }
        assert!(open.is_empty(), "slices left open on {at:?}: {open:?}");
        done.sort_by_key(|s| (s.1, s.3));
        done
    }

    /// The innermost call slice of track `at` around `t`.
    fn enclosing(&self, at: (u64, u64), t: u64) -> String {
        self.slices(at)
            .into_iter()
            .filter(|s| s.1 <= t && t <= s.2)
            .max_by_key(|s| s.3)
            .unwrap_or_else(|| panic!("no slice around {t} on {at:?}"))
            .0
    }

    /// The flow events with `cat` and `id`, in file order: (ph, track, ns).
    fn flow(&self, cat: &str, id: u64) -> Vec<Point> {
        let id = format!("{id:#x}");
        self.events
            .iter()
            .filter(|e| e["cat"] == cat && e["id"] == id.as_str())
            .map(|e| {
                assert_eq!(e["name"], cat, "a flow's name is its category");
                if e["ph"] == "f" {
                    assert_eq!(e["bp"], "e", "a flow ends on its enclosing slice");
                }
                let at = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
                (e["ph"].as_str().unwrap().to_string(), at, ns(e))
            })
            .collect()
    }
}

/// A flow's point: its phase, its track and its time in ns.
type Point = (String, (u64, u64), u64);

/// An event's timestamp in ns.
fn ns(e: &Value) -> u64 {
    (e["ts"].as_f64().expect("a ts") * 1000.0).round() as u64
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const EXCHANGE: u64 = 0x0000_1001_0000_0007;
const FAILED: u64 = 0x0000_1001_0000_0008;
const PULSE: u64 = 0x5_0000_0001;
const TIMER_PULSE: u64 = 0x5_0000_0002;
const BATCH: u64 = 0xb_0000_0001;

fn msg(pid: i32, tid: i32, peer_pid: i32, peer_tid: i32, exchange: u64) -> MsgEvent {
    MsgEvent {
        pid,
        tid,
        peer_pid,
        peer_tid,
        chid: 1,
        rcvid: 0x10001,
        exchange,
        bytes: 16,
        msg_type: -1,
    }
}

/// The scenario, as the kernel emits it: a server (pid 2) and a client (pid 3); one SRR
/// exchange with priority inheritance, a failed send, a pulse, a kernel timer's pulse, an
/// asyncmsg batch taken in two gets, the client's teardown; the server is left RECEIVE-blocked
/// in MsgReceive, and one of its threads was in MsgReceive before the recording began.
fn scenario() {
    // Thread 3 of the server was already in MsgReceive.
    trace::call_exit(trace::Ring::none(), SERVER, 3, "MsgReceive", -4);
    trace::state(trace::Ring::none(), SERVER, 3, "RUNNING", 0, -1);

    trace::state(trace::Ring::none(), SERVER, 1, "RUNNING", 0, -1);
    trace::prio(trace::Ring::none(), SERVER, 1, 10, 10, "set");
    trace::call_enter(trace::Ring::none(), SERVER, 1, "MsgReceive");
    trace::state(trace::Ring::none(), SERVER, 1, "RECEIVE", 0, 1);

    trace::state(trace::Ring::none(), CLIENT, 1, "RUNNING", 0, -1);
    trace::call_enter(trace::Ring::none(), CLIENT, 1, "MsgSend");
    trace::msg_send(trace::Ring::none(), &msg(CLIENT, 1, SERVER, 0, EXCHANGE));
    trace::prio(trace::Ring::none(), SERVER, 1, 15, 10, "inherit");
    trace::msg_receive(trace::Ring::none(), &msg(SERVER, 1, CLIENT, 1, EXCHANGE));
    trace::state(trace::Ring::none(), SERVER, 1, "READY", 0, -1);
    trace::state(trace::Ring::none(), CLIENT, 1, "REPLY", SERVER, 1);
    trace::call_exit(trace::Ring::none(), SERVER, 1, "MsgReceive", 0x10001);
    trace::state(trace::Ring::none(), SERVER, 1, "RUNNING", 0, -1);

    trace::call_enter(trace::Ring::none(), SERVER, 1, "MsgReply");
    trace::msg_reply(
        trace::Ring::none(),
        &msg(SERVER, 1, CLIENT, 1, EXCHANGE),
        0,
        0,
    );
    trace::state(trace::Ring::none(), CLIENT, 1, "READY", 0, -1);
    trace::prio(trace::Ring::none(), SERVER, 1, 10, 10, "restore");
    trace::call_exit(trace::Ring::none(), SERVER, 1, "MsgReply", 0);
    trace::call_exit(trace::Ring::none(), CLIENT, 1, "MsgSend", 0);
    trace::state(trace::Ring::none(), CLIENT, 1, "RUNNING", 0, -1);

    // A send that fails: one flow point only, no arrow.
    trace::call_enter(trace::Ring::none(), CLIENT, 1, "MsgSend");
    trace::msg_send(trace::Ring::none(), &msg(CLIENT, 1, SERVER, 0, FAILED));
    trace::call_exit(trace::Ring::none(), CLIENT, 1, "MsgSend", -3);

    // A pulse from the client, then one from the kernel (a timer).
    trace::call_enter(trace::Ring::none(), CLIENT, 1, "MsgSendPulse");
    trace::pulse_queued(trace::Ring::none(), CLIENT, 1, SERVER, 1, 5, 42, PULSE);
    trace::call_exit(trace::Ring::none(), CLIENT, 1, "MsgSendPulse", 0);
    trace::call_enter(trace::Ring::none(), SERVER, 1, "MsgReceive");
    trace::state(trace::Ring::none(), SERVER, 1, "RECEIVE", 0, 1);
    trace::pulse_received(trace::Ring::none(), SERVER, 1, 1, 5, 42, PULSE);
    trace::state(trace::Ring::none(), SERVER, 1, "RUNNING", 0, -1);
    trace::call_exit(trace::Ring::none(), SERVER, 1, "MsgReceive", 0);
    trace::timer_fired(trace::Ring::none(), SERVER, 0, 1, "timer");
    trace::pulse_queued(trace::Ring::none(), 0, 0, SERVER, 1, 6, 0, TIMER_PULSE);
    trace::call_enter(trace::Ring::none(), SERVER, 1, "MsgReceive");
    trace::pulse_received(trace::Ring::none(), SERVER, 1, 1, 6, 0, TIMER_PULSE);
    trace::call_exit(trace::Ring::none(), SERVER, 1, "MsgReceive", 0);

    // An asyncmsg batch of three, taken in two gets by the server's thread 2.
    for _ in 0..3 {
        trace::async_put(trace::Ring::none(), CLIENT, 2, 7, 32);
    }
    trace::call_enter(trace::Ring::none(), CLIENT, 2, "MsgSendAsync");
    trace::async_trigger(trace::Ring::none(), CLIENT, 2, 7, 3, BATCH);
    trace::call_exit(trace::Ring::none(), CLIENT, 2, "MsgSendAsync", 0);
    for n in [2, 1] {
        trace::call_enter(trace::Ring::none(), SERVER, 2, "MsgReceiveAsync");
        trace::async_get(trace::Ring::none(), SERVER, 2, 2, n, BATCH);
        trace::call_exit(
            trace::Ring::none(),
            SERVER,
            2,
            "MsgReceiveAsync",
            i64::from(n),
        );
    }

    for step in ["channels", "connections", "done"] {
        trace::teardown(trace::Ring::none(), CLIENT, step);
    }
    // Left open: the server waits for the next message.
    trace::call_enter(trace::Ring::none(), SERVER, 1, "MsgReceive");
    trace::state(trace::Ring::none(), SERVER, 1, "RECEIVE", 0, 1);
}

/// Records `scenario` through a layer (on this thread) and parses the file.
fn record_scenario(name: &str, capacity: usize) -> (Trace, timeline::Written) {
    let path = temp_path(name);
    let (layer, guard) = TimelineLayer::with_capacity(&path, capacity).unwrap();
    guard.name_process(SERVER, "server");
    guard.name_thread(SERVER, 1, "server");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, scenario);
    let written = guard.finish().unwrap();
    assert_eq!(written.path, path);
    let trace = Trace::read(&path);
    // TIMELINE_KEEP=DIR keeps the file, to open it in Perfetto.
    if let Some(dir) = std::env::var_os("TIMELINE_KEEP") {
        std::fs::copy(
            &path,
            PathBuf::from(dir).join(format!("timeline-{name}.json")),
        )
        .unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    (trace, written)
}

#[test]
fn the_file_has_the_structure_perfetto_reads() {
    let (t, written) = record_scenario("structure", timeline::DEFAULT_CAPACITY);
    assert_eq!(written.dropped, 0);
    assert_eq!(t.other["events_dropped"], 0);
    assert_eq!(written.trace_events, t.events.len());

    // Metadata names every process and thread seen, each thread with two tracks.
    assert_eq!(t.processes.len(), 3, "{:?}", t.processes);
    let kernel = t.pid_of("kernel");
    assert_eq!(t.pid_of("process 2 (server)"), 2);
    assert_eq!(t.pid_of("process 3"), 3);
    for (process, thread) in [
        ("process 2 (server)", "thread 1 (server)"),
        ("process 2 (server)", "thread 2"),
        ("process 2 (server)", "thread 3"),
        ("process 3", "thread 1"),
        ("process 3", "thread 2"),
        ("kernel", "kernel"),
    ] {
        let calls = t.track(process, thread);
        let states = t.track(process, &format!("{thread} states"));
        assert_ne!(calls, states);
    }
    assert_eq!(t.tracks.len(), 12);
    // Track tids are unique in the file and none is a pid (Perfetto keys names by tid).
    let mut tids: Vec<u64> = t.tracks.values().map(|at| at.1).collect();
    tids.sort_unstable();
    tids.dedup();
    assert_eq!(tids.len(), t.tracks.len());
    assert!(tids.iter().all(|tid| !t.processes.contains_key(tid)));

    // Time only goes forward in the file, past the metadata.
    let timed: Vec<u64> = t.events.iter().filter(|e| e["ph"] != "M").map(ns).collect();
    assert!(
        timed.windows(2).all(|w| w[0] <= w[1]),
        "events in time order"
    );

    // Every B has its E on its track, in order (checked by `slices`), on every track.
    for &at in t.tracks.values() {
        t.slices(at);
    }

    // The server's calls: the ones that ended have their result; the last one is unfinished.
    let srv = t.track("process 2 (server)", "thread 1 (server)");
    let calls: Vec<_> = t.slices(srv).into_iter().filter(|s| s.3 == 0).collect();
    let names: Vec<&str> = calls.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "MsgReceive",
            "MsgReply",
            "MsgReceive",
            "MsgReceive",
            "MsgReceive"
        ]
    );
    assert_eq!(calls[0].4["result"], 0x10001);
    assert_eq!(calls[0].4["receive"]["rcvid"], 0x10001);
    assert_eq!(calls[0].4["receive"]["exchange"], format!("{EXCHANGE:#x}"));
    assert_eq!(calls[1].4["reply"]["status"], 0);
    assert_eq!(calls[4].4["unfinished"], true);
    // A call in progress when the recording began begins with it.
    let srv3 = t.track("process 2 (server)", "thread 3");
    let s3 = t.slices(srv3);
    assert_eq!(s3.len(), 1);
    assert_eq!((s3[0].0.as_str(), s3[0].1), ("MsgReceive", 0));
    assert_eq!(s3[0].4["errno"], "EINTR");
    // The failed send says why.
    let cli = t.track("process 3", "thread 1");
    let sends: Vec<_> = t
        .slices(cli)
        .into_iter()
        .filter(|s| s.0 == "MsgSend")
        .collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(
        (sends[1].4["result"].clone(), sends[1].4["errno"].clone()),
        (Value::from(-3), Value::from("ESRCH"))
    );

    // State spans tile each thread's states track: no nesting, each begins where the previous
    // ends, the last ends with the recording.
    let end = *timed.last().unwrap();
    for (thread, expected) in [
        (
            "thread 1 (server)",
            &[
                "RUNNING", "RECEIVE", "READY", "RUNNING", "RECEIVE", "RUNNING", "RECEIVE",
            ][..],
        ),
        ("thread 1", &["RUNNING", "REPLY", "READY", "RUNNING"][..]),
    ] {
        let process = if thread == "thread 1" {
            "process 3"
        } else {
            "process 2 (server)"
        };
        let at = t.track(process, &format!("{thread} states"));
        let spans: Vec<_> = t
            .slices(at)
            .into_iter()
            .filter(|s| s.3 == 0 && t.is_state(at, &s.0))
            .collect();
        let names: Vec<&str> = spans.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(names, expected, "{thread}'s states");
        assert!(
            spans.windows(2).all(|w| w[0].2 == w[1].1),
            "{thread}'s spans tile: {spans:?}"
        );
        assert_eq!(
            spans.last().unwrap().2,
            end,
            "{thread}'s last state lasts to the end"
        );
        // Each state span has its colour.
        for e in t.on(at).filter(|e| e["ph"] == "B") {
            assert!(e["cname"].is_string(), "{e}");
        }
    }
    let colour = |state: &str| {
        t.events
            .iter()
            .find(|e| e["ph"] == "B" && e["name"] == state)
            .unwrap()["cname"]
            .clone()
    };
    assert_eq!(colour("RUNNING"), "thread_state_running");
    assert_eq!(colour("REPLY"), "thread_state_uninterruptible");

    // The exchange: from the client's MsgSend to the server's MsgReceive to its MsgReply.
    let flow = t.flow("exchange", EXCHANGE);
    let phs: Vec<&str> = flow.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(phs, ["s", "t", "f"]);
    assert_eq!(
        (flow[0].1, t.enclosing(cli, flow[0].2).as_str()),
        (cli, "MsgSend")
    );
    assert_eq!(
        (flow[1].1, t.enclosing(srv, flow[1].2).as_str()),
        (srv, "MsgReceive")
    );
    assert_eq!(
        (flow[2].1, t.enclosing(srv, flow[2].2).as_str()),
        (srv, "MsgReply")
    );
    // A send nobody received draws no arrow.
    assert!(t.flow("exchange", FAILED).is_empty());

    // The pulses: from the client's MsgSendPulse, and from the kernel's own slice, to the
    // server's MsgReceive.
    let flow = t.flow("pulse", PULSE);
    assert_eq!(
        flow.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["s", "f"]
    );
    assert_eq!(t.enclosing(cli, flow[0].2), "MsgSendPulse");
    assert_eq!(
        (flow[1].1, t.enclosing(srv, flow[1].2).as_str()),
        (srv, "MsgReceive")
    );
    let flow = t.flow("pulse", TIMER_PULSE);
    let k = t.track("kernel", "kernel");
    assert_eq!(k.0, kernel);
    assert_eq!(
        (flow[0].1, t.enclosing(k, flow[0].2).as_str()),
        (k, "queued")
    );
    assert_eq!(t.enclosing(srv, flow[1].2), "MsgReceive");

    // The batch: from the trigger to both gets.
    let flow = t.flow("batch", BATCH);
    assert_eq!(
        flow.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["s", "t", "f"]
    );
    let (cli2, srv2) = (
        t.track("process 3", "thread 2"),
        t.track("process 2 (server)", "thread 2"),
    );
    assert_eq!(
        (flow[0].1, t.enclosing(cli2, flow[0].2).as_str()),
        (cli2, "MsgSendAsync")
    );
    for f in &flow[1..] {
        assert_eq!(
            (f.1, t.enclosing(srv2, f.2).as_str()),
            (srv2, "MsgReceiveAsync")
        );
    }
    let puts = t
        .on(t.track("process 3", "thread 2 states"))
        .filter(|e| e["ph"] == "i")
        .count();
    assert_eq!(puts, 3, "the three puts are instants");

    // Priorities: the server's counter goes 10, 15, 10; the reasons are instants.
    let counter: Vec<i64> = t
        .events
        .iter()
        .filter(|e| e["ph"] == "C" && e["pid"] == 2 && e["name"] == "thread 1 (server)")
        .map(|e| e["args"]["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(counter, [10, 15, 10]);
    let reasons: Vec<&str> = t
        .on(t.track("process 2 (server)", "thread 1 (server) states"))
        .filter(|e| e["ph"] == "i")
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "priority 10 (set)",
            "priority 15 (inherit)",
            "priority 10 (restore)"
        ]
    );

    // Teardown steps and the process's timer are instants of their process.
    let of_process = |pid: u64| -> Vec<&str> {
        t.events
            .iter()
            .filter(|e| e["ph"] == "i" && e["s"] == "p" && e["pid"] == pid)
            .map(|e| e["name"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        of_process(3),
        [
            "teardown: channels",
            "teardown: connections",
            "teardown: done"
        ]
    );
    assert_eq!(of_process(2), ["timer fired"]);
}

impl Trace {
    /// Whether a slice of a states track is a state span (not an instant).
    fn is_state(&self, at: (u64, u64), name: &str) -> bool {
        self.on(at)
            .any(|e| e["ph"] == "B" && e["cat"] == "state" && e["name"] == name)
    }
}

#[test]
fn a_full_buffer_drops_events_and_says_so() {
    let (t, written) = record_scenario("dropped", 20);
    assert_eq!(written.recorded, 20);
    assert!(written.dropped > 0);
    assert_eq!(t.other["events_dropped"], written.dropped);
    let note = t
        .events
        .iter()
        .find(|e| e["ph"] == "i" && e["s"] == "g")
        .expect("a note");
    assert!(note["name"]
        .as_str()
        .unwrap()
        .starts_with(&format!("dropped {} events", written.dropped)));
    // What was open is closed where the trace ends, at the note.
    let last = t
        .events
        .iter()
        .filter(|e| e["ph"] != "M")
        .map(ns)
        .max()
        .unwrap();
    assert_eq!(ns(note), last);
    for &at in t.tracks.values() {
        t.slices(at);
    }
}

#[test]
fn names_strings_and_other_targets() {
    let path = temp_path("names");
    let (layer, guard) = TimelineLayer::new(&path).unwrap();
    guard.name_thread(4, 1, "a \"quoted\" \\ name\n");
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "other", pid = 9, tid = 9, "not ours");
        trace::call_enter(trace::Ring::none(), 4, 1, "MsgSend");
        trace::call_exit(trace::Ring::none(), 4, 1, "MsgSend", 0);
    });
    drop(guard); // writes the file
    let t = Trace::read(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(t.processes.values().collect::<Vec<_>>(), ["process 4"]);
    t.track("process 4", "thread 1 (a \"quoted\" \\ name\n)");
    assert_eq!(t.other["events_recorded"], 2);
}

impl Trace {
    /// The flows, by category and id: their points (ph, track, ns) in file order.
    fn flows(&self) -> BTreeMap<(String, String), Vec<Point>> {
        let mut flows: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for e in self
            .events
            .iter()
            .filter(|e| matches!(e["ph"].as_str(), Some("s" | "t" | "f")))
        {
            let key = (
                e["cat"].as_str().unwrap().to_string(),
                e["id"].as_str().unwrap().to_string(),
            );
            let at = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            flows
                .entry(key)
                .or_default()
                .push((e["ph"].as_str().unwrap().to_string(), at, ns(e)));
        }
        flows
    }

    /// Every track's slices pair up, and every states track is tiled by its state spans.
    fn assert_well_formed(&self) {
        for (&(pid, ref name), &at) in &self.tracks {
            let slices = self.slices(at);
            if name.ends_with(" states") {
                let spans: Vec<_> = slices.iter().filter(|s| s.3 == 0).collect();
                assert!(
                    spans.windows(2).all(|w| w[0].2 == w[1].1),
                    "{name} of {pid}: the state spans tile the track: {spans:?}"
                );
            }
        }
    }
}

/// Within `timeout`, `msg_receive` on `chid` (a TimerTimeout bounds it).
fn receive(chid: i32, buf: &mut [u8]) -> userlib::RcvId {
    qnx::timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(LONG_NS)).unwrap();
    qnx::msg_receive(chid, buf, None).expect("msg_receive")
}

/// The kernel's own events, recorded by the global subscriber: an SRR exchange, a pulse and an
/// asyncmsg batch between a server and a client process.
#[test]
fn the_kernel_s_events_between_two_processes() {
    let path = temp_path("kernel");
    let guard = timeline::record(&path).expect("the global subscriber");
    // A second global recorder is refused, and neither makes its file nor touches one there.
    let second = temp_path("second");
    std::fs::write(&second, b"someone's").unwrap();
    assert!(
        timeline::record(&second).is_err(),
        "only one global subscriber"
    );
    assert_eq!(
        std::fs::read(&second).unwrap(),
        b"someone's",
        "left as it was"
    );
    std::fs::remove_file(&second).unwrap();
    assert!(timeline::record(&second).is_err());
    assert!(!second.exists(), "no file made for a refused recorder");
    let k = kernel();
    let server = process(&k);
    let client = process(&k);
    let (spid, cpid) = (server.pid(), client.pid());
    guard.name_process(spid, "server");
    guard.name_process(cpid, "client");
    let _b = bind(&server);
    let chid = qnx::channel_create(0).unwrap();
    let achid = asyncmsg_channel_create(0, 0o600, 64, 8, None, None).unwrap();
    let h = client
        .spawn(move || {
            let coid = qnx::connect_attach(0, spid, chid, _NTO_SIDE_CHANNEL, 0).unwrap();
            let mut reply = [0u8; 4];
            let status = qnx::msg_send(coid, b"ping", &mut reply).unwrap();
            qnx::msg_send_pulse(coid, 10, 5, 42).unwrap();
            let acoid = connect(spid, achid, 0, &attr(0, Duration::ZERO, 8));
            for seq in 0..3 {
                put(acoid, encode(0, seq), seq);
            }
            asyncmsg_flush_timeout(acoid, LONG).unwrap();
            asyncmsg_connect_detach(acoid).unwrap();
            qnx::connect_detach(coid).unwrap();
            (status, reply)
        })
        .unwrap();
    let mut buf = [0u8; 64];
    let rcvid = receive(chid, &mut buf);
    assert_eq!(&buf[..4], b"ping");
    qnx::msg_reply(rcvid, 7, b"pong").unwrap();
    assert_eq!(receive(chid, &mut buf), 0, "the pulse");
    let (got, _) = take(achid, 3);
    assert_eq!(got.len(), 3);
    assert_eq!(join(h), (7, *b"pong"));
    let written = guard.finish().unwrap();
    assert_eq!(written.dropped, 0);

    let t = Trace::read(&path);
    if let Some(dir) = std::env::var_os("TIMELINE_KEEP") {
        std::fs::copy(&path, PathBuf::from(dir).join("timeline-kernel.json")).unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    assert!(
        t.events.iter().any(|e| e["cat"] == "call"),
        "the kernel emitted no call events"
    );
    assert_eq!(
        t.processes[&(spid as u64)],
        format!("process {spid} (server)")
    );
    assert_eq!(
        t.processes[&(cpid as u64)],
        format!("process {cpid} (client)")
    );
    t.assert_well_formed();
    let flows = t.flows();
    let of = |cat: &str| -> Vec<&Vec<Point>> {
        flows
            .iter()
            .filter(|((c, _), _)| c == cat)
            .map(|(_, f)| f)
            .collect()
    };
    let (spid, cpid) = (spid as u64, cpid as u64);

    // The exchange: the client's MsgSend, the server's MsgReceive, its MsgReply.
    let exchanges = of("exchange");
    assert_eq!(exchanges.len(), 1, "{flows:?}");
    let f = exchanges[0];
    assert_eq!(
        f.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["s", "t", "f"]
    );
    assert_eq!(
        (f[0].1 .0, t.enclosing(f[0].1, f[0].2).as_str()),
        (cpid, "MsgSend")
    );
    assert_eq!(
        (f[1].1 .0, t.enclosing(f[1].1, f[1].2).as_str()),
        (spid, "MsgReceive")
    );
    assert_eq!(
        (f[2].1 .0, t.enclosing(f[2].1, f[2].2).as_str()),
        (spid, "MsgReply")
    );
    assert_eq!(f[1].1, f[2].1, "received and answered by the same thread");

    // The pulse: from the client's MsgSendPulse to the server's MsgReceive.
    let pulses = of("pulse");
    assert_eq!(pulses.len(), 1, "{flows:?}");
    let f = pulses[0];
    assert_eq!(
        f.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
        ["s", "f"]
    );
    assert_eq!(
        (f[0].1 .0, t.enclosing(f[0].1, f[0].2).as_str()),
        (cpid, "MsgSendPulse")
    );
    assert_eq!(
        (f[1].1 .0, t.enclosing(f[1].1, f[1].2).as_str()),
        (spid, "MsgReceive")
    );

    // The batch (or batches): from the client's trigger to the server's gets, in calls.
    let batches = of("batch");
    assert!(!batches.is_empty(), "{flows:?}");
    for f in batches {
        assert_eq!(f[0].0, "s");
        assert_eq!(f.last().unwrap().0, "f");
        assert_eq!(f[0].1 .0, cpid);
        for p in f {
            t.enclosing(p.1, p.2);
        }
        assert!(f[1..].iter().all(|p| p.1 .0 == spid));
    }

    // The client's thread went SEND- or REPLY-blocked on the server: its states say so.
    let blocked = t.events.iter().any(|e| {
        e["ph"] == "B" && e["pid"] == cpid && e["name"] == "REPLY" && e["args"]["peer_pid"] == spid
    });
    assert!(blocked, "the client was REPLY-blocked on the server");
}
