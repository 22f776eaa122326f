//! The sequence chart (`userlib::seqchart`) of known scenarios, driven through the kernel's
//! trace functions: the SVG is well-formed XML, has one lifeline per thread, its arrows go in
//! order between the right lifelines, the blocked states are shaded, and it has a legend.

use kernel_sim::trace::{self, MsgEvent};
use tracing_subscriber::layer::SubscriberExt as _;
use userlib::seqchart::{self, Options};
use xml::{parse_xml, Elem};

#[path = "support/xml.rs"]
mod xml;

// ----------------------------------------------------------------------- the scenarios

const SERVER: (i32, i32) = (2, 1);
const CLIENT: (i32, i32) = (3, 1);

fn msg(who: (i32, i32), peer: (i32, i32), exchange: u64, bytes: u64) -> MsgEvent {
    MsgEvent {
        pid: who.0,
        tid: who.1,
        peer_pid: peer.0,
        peer_tid: peer.1,
        chid: 1,
        rcvid: if peer.1 == 0 { 0 } else { 0x10001 },
        exchange,
        bytes,
        msg_type: -1,
    }
}

/// The server RECEIVE-blocked; the client sends (received at once, the client REPLY-blocked);
/// the server replies; the client sends a pulse (code 5) that the server receives.
fn srr_and_pulse() {
    trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "RECEIVE", 0, 1);
    trace::msg_send(trace::Ring::none(), &msg(CLIENT, (SERVER.0, 0), 7, 16));
    trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 7, 16));
    trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "READY", 0, -1);
    trace::state(
        trace::Ring::none(),
        CLIENT.0,
        CLIENT.1,
        "REPLY",
        SERVER.0,
        1,
    );
    trace::msg_reply(trace::Ring::none(), &msg(SERVER, CLIENT, 7, 8), 0, 0);
    trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "READY", 0, -1);
    trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "RECEIVE", 0, 1);
    trace::pulse_queued(
        trace::Ring::none(),
        CLIENT.0,
        CLIENT.1,
        SERVER.0,
        1,
        5,
        42,
        9,
    );
    trace::pulse_received(trace::Ring::none(), SERVER.0, SERVER.1, 1, 5, 42, 9);
    trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "READY", 0, -1);
}

/// The chart of what `f` emits, in memory.
fn chart(options: Options, f: impl FnOnce()) -> String {
    let (layer, guard) = seqchart::memory(options);
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    guard.svg()
}

fn lifeline_x(elems: &[Elem], who: (i32, i32)) -> f64 {
    let l: Vec<&Elem> = elems
        .iter()
        .filter(|e| {
            e.has_class("lifeline")
                && e.attr("data-pid") == Some(&who.0.to_string())
                && e.attr("data-tid") == Some(&who.1.to_string())
        })
        .collect();
    assert_eq!(l.len(), 1, "one lifeline for {who:?}");
    assert_eq!(l[0].num("x1"), l[0].num("x2"), "a lifeline is vertical");
    l[0].num("x1")
}

fn arrows(elems: &[Elem]) -> Vec<&Elem> {
    elems
        .iter()
        .filter(|e| e.name == "line" && e.has_class("arrow"))
        .collect()
}

/// The arrow `a` goes from lifeline x `from` to lifeline x `to` (it stops at the bars' edges).
fn assert_between(a: &Elem, from: f64, to: f64) {
    let (x1, x2) = (a.num("x1"), a.num("x2"));
    assert!((x1 - from).abs() <= 6.5, "{a:?} starts at {from}");
    assert!((x2 - to).abs() <= 6.5, "{a:?} ends at {to}");
    assert_eq!(
        (x2 - x1).signum(),
        (to - from).signum(),
        "{a:?} points from {from} to {to}"
    );
    assert_eq!(a.num("y1"), a.num("y2"), "arrows are horizontal");
}

#[test]
fn an_srr_exchange_and_a_pulse() {
    let svg = chart(Options::default(), srr_and_pulse);
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    assert_eq!(elems[0].name, "svg");

    // One lifeline per thread, headed with its pid and tid, in a box per process.
    let lifelines: Vec<&Elem> = elems.iter().filter(|e| e.has_class("lifeline")).collect();
    assert_eq!(lifelines.len(), 2, "{svg}");
    let heads: Vec<&str> = elems
        .iter()
        .filter(|e| e.has_class("thread-label"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(heads, ["pid 2 / tid 1", "pid 3 / tid 1"]);
    assert_eq!(
        elems.iter().filter(|e| e.has_class("process")).count(),
        2,
        "a box per process"
    );
    let server = lifeline_x(&elems, SERVER);
    let client = lifeline_x(&elems, CLIENT);
    assert!(server < client, "processes in pid order");

    // The message, its reply and the pulse, in that order, between the right lifelines.
    let a = arrows(&elems);
    let kinds: Vec<&str> = a
        .iter()
        .map(|e| e.attr("class").unwrap().trim_start_matches("arrow "))
        .collect();
    assert_eq!(kinds, ["send", "reply", "pulse"], "{svg}");
    assert_between(a[0], client, server);
    assert_between(a[1], server, client);
    assert_between(a[2], client, server);
    assert_eq!(a[0].attr("data-from"), Some("3.1"));
    assert_eq!(a[0].attr("data-to"), Some("2.1"));
    let ys: Vec<f64> = a.iter().map(|e| e.num("y1")).collect();
    assert!(
        ys.windows(2).all(|w| w[0] < w[1]),
        "time runs downward: {ys:?}"
    );
    assert_eq!(
        a[1].attr("stroke-dasharray"),
        Some("7,4"),
        "a reply is dashed"
    );
    assert!(a[2].attr("stroke-dasharray").is_some(), "a pulse is dotted");
    let labels: Vec<&str> = elems
        .iter()
        .filter(|e| e.has_class("arrow-label"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(
        labels,
        ["MsgSend 16 B", "MsgReply 0", "pulse code 5, value 42"]
    );
    // The message was received at once: no queue marker.
    assert!(!elems.iter().any(|e| e.has_class("queued")), "{svg}");

    // The client is REPLY-blocked from the receive to the reply, on its own lifeline.
    let bars = |class: &str, who: (i32, i32)| -> Vec<(f64, f64, f64)> {
        elems
            .iter()
            .filter(|e| {
                e.name == "rect"
                    && e.has_class("state")
                    && e.has_class(class)
                    && e.attr("data-pid") == Some(&who.0.to_string())
                    && e.attr("data-tid") == Some(&who.1.to_string())
            })
            .map(|e| {
                let y = e.num("y");
                (e.num("x") + e.num("width") / 2.0, y, y + e.num("height"))
            })
            .collect()
    };
    let reply = bars("reply", CLIENT);
    assert_eq!(reply.len(), 1, "{svg}");
    let (x, top, bottom) = reply[0];
    assert_eq!(x, client);
    assert_eq!(
        (top, bottom),
        (ys[0], ys[1]),
        "REPLY-blocked from receive to reply"
    );
    // The server RECEIVE-blocked before the message and again before the pulse.
    let receive = bars("receive", SERVER);
    assert_eq!(receive.len(), 2, "{svg}");
    assert!(receive.iter().all(|&(x, ..)| x == server));
    assert_eq!(receive[0].2, ys[0]);
    assert_eq!((receive[1].1, receive[1].2), (ys[1], ys[2]));
    assert!(bars("send", CLIENT).is_empty());
    assert!(bars("reply", SERVER).is_empty());

    // The legend: the three blocked states' colours, and the arrow styles.
    for class in ["send", "receive", "reply"] {
        let l: Vec<&Elem> = elems
            .iter()
            .filter(|e| e.has_class("legend-state") && e.has_class(class))
            .collect();
        assert_eq!(l.len(), 1, "legend for {class}");
        let bar = elems
            .iter()
            .find(|e| e.has_class("state") && e.has_class(class))
            .map(|e| e.attr("fill"));
        if let Some(fill) = bar {
            assert_eq!(l[0].attr("fill"), fill, "the legend's colour is the bar's");
        }
    }
    for class in ["send", "reply", "pulse", "batch"] {
        assert!(
            elems
                .iter()
                .any(|e| e.has_class("legend-arrow") && e.has_class(class)),
            "legend arrow {class}"
        );
    }
    assert!(svg.contains("REPLY-blocked"));
}

#[test]
fn a_queued_message_a_kernel_pulse_a_batch_and_the_cap() {
    let c2 = (3, 2);
    let run = || {
        // The server holds the client's message; a second client queues SEND-blocked.
        trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "RECEIVE", 0, 1);
        trace::msg_send(trace::Ring::none(), &msg(CLIENT, (2, 0), 1, 4));
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 1, 4));
        trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "READY", 0, -1);
        trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "REPLY", 2, 1);
        trace::msg_send(trace::Ring::none(), &msg(c2, (2, 0), 2, 4));
        trace::state(trace::Ring::none(), c2.0, c2.1, "SEND", 2, 1);
        trace::msg_reply(trace::Ring::none(), &msg(SERVER, CLIENT, 1, 0), -1, 3);
        trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "READY", 0, -1);
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, (0, 0), 2, 4));
        trace::state(trace::Ring::none(), c2.0, c2.1, "REPLY", 2, 1);
        trace::msg_reply(trace::Ring::none(), &msg(SERVER, c2, 2, 0), 0, 0);
        trace::state(trace::Ring::none(), c2.0, c2.1, "READY", 0, -1);
        // A timer's pulse from the kernel.
        trace::pulse_queued(trace::Ring::none(), 0, 0, SERVER.0, 1, -1, 0, 5);
        trace::pulse_received(trace::Ring::none(), SERVER.0, SERVER.1, 1, -1, 0, 5);
        // An asyncmsg batch of three from the second client.
        for _ in 0..3 {
            trace::async_put(trace::Ring::none(), c2.0, c2.1, 0x4000_0001, 8);
        }
        trace::async_trigger(trace::Ring::none(), c2.0, c2.1, 0x4000_0001, 3, 11);
        trace::async_get(trace::Ring::none(), SERVER.0, SERVER.1, 2, 3, 11);
    };
    let svg = chart(Options::default(), run);
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let kernel = elems
        .iter()
        .find(|e| e.has_class("lifeline") && e.attr("data-pid") == Some("0"))
        .expect("a kernel lifeline")
        .num("x1");
    let (server, client, c2x) = (
        lifeline_x(&elems, SERVER),
        lifeline_x(&elems, CLIENT),
        lifeline_x(&elems, c2),
    );
    assert!(kernel < server && server < client && client < c2x);

    // The second client's send waits in the queue: a marker where it was sent.
    let queued: Vec<&Elem> = elems.iter().filter(|e| e.has_class("queued")).collect();
    assert_eq!(queued.len(), 1, "{svg}");
    assert_eq!(queued[0].num("cx"), c2x);
    let a = arrows(&elems);
    let kinds: Vec<&str> = a
        .iter()
        .map(|e| e.attr("class").unwrap().trim_start_matches("arrow "))
        .collect();
    assert_eq!(kinds, ["send", "reply", "send", "reply", "pulse", "batch"]);
    assert!(queued[0].num("cy") > a[0].num("y1") && queued[0].num("cy") < a[1].num("y1"));
    assert_between(a[2], c2x, server); // found through the exchange's send
    assert_between(a[4], kernel, server);
    assert_between(a[5], c2x, server);
    let labels: Vec<&str> = elems
        .iter()
        .filter(|e| e.has_class("arrow-label"))
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(labels[1], "MsgError errno 3");
    assert_eq!(labels[5], "asyncmsg batch: 3 messages");
    // SEND-blocked from the marker to the receive, then REPLY-blocked to the reply.
    let send_bar = elems
        .iter()
        .find(|e| e.has_class("state") && e.has_class("send"))
        .expect("a SEND-blocked bar");
    assert_eq!(send_bar.attr("data-tid"), Some("2"));
    assert_eq!(send_bar.num("y"), queued[0].num("cy"));
    assert_eq!(send_bar.num("y") + send_bar.num("height"), a[2].num("y1"));

    // Capped at three rows: the rest is counted.
    let svg = chart(
        Options {
            max_rows: Some(3),
            title: Some("capped <3>".into()),
        },
        run,
    );
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    assert_eq!(arrows(&elems).len(), 2, "{svg}"); // send, reply, then the queue marker
    let more = elems
        .iter()
        .find(|e| e.has_class("more"))
        .expect("a more line");
    assert_eq!(more.text, "… 4 more events");
    assert_eq!(
        elems.iter().find(|e| e.has_class("title")).unwrap().text,
        "capped <3>"
    );
}

#[test]
fn record_writes_the_file_and_refuses_a_second_subscriber() {
    let dir = std::env::temp_dir().join(format!("seqchart-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chart.svg");
    assert!(seqchart::record(dir.join("no/such/dir/x.svg")).is_err());
    let guard = seqchart::record(&path).expect("record");
    // A thread of its own, as a simulated thread would be: the global subscriber sees it.
    std::thread::spawn(srr_and_pulse).join().unwrap();
    // (At least: a thread of another test that has left its scoped dispatcher, as a
    // simulated thread does when it exits, reaches the global one.)
    assert!(guard.events() >= 11, "{}", guard.events());
    let err = seqchart::record(dir.join("second.svg")).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(
        !dir.join("second.svg").exists(),
        "no file made for a refused recorder"
    );
    std::fs::write(dir.join("third.svg"), b"someone's").unwrap();
    assert!(seqchart::record(dir.join("third.svg")).is_err());
    assert_eq!(
        std::fs::read(dir.join("third.svg")).unwrap(),
        b"someone's",
        "a file that was there is left as it was"
    );
    guard.finish().unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    let elems = parse_xml(&svg).unwrap();
    assert_eq!(arrows(&elems).len(), 3);
    // Events after the chart is written are not recorded (nor do they fail).
    std::thread::spawn(srr_and_pulse).join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Through real kernel calls: a server process and a client process make one exchange, then
/// the client sends a pulse. The kernel emits the events; the chart draws them.
#[test]
fn a_chart_of_real_calls() {
    use userlib::{Channel, Config, Connection, Kernel, Process, Received};

    let kernel = Kernel::new(Config::default()).unwrap();
    let server_proc = Process::new_in(&kernel).unwrap();
    let client_proc = Process::new_in(&kernel).unwrap();
    let (sp, cp) = (server_proc.pid(), client_proc.pid());
    let (layer, guard) = seqchart::memory(Options::default());
    let d = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    // Every thread that emits needs the dispatcher (with one alive, `tracing` caches a
    // callsite's interest from the first thread that hits it).
    let _main = tracing::dispatcher::set_default(&d);
    let (tx, rx) = std::sync::mpsc::channel();
    let ds = d.clone();
    let server = server_proc
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&ds);
            let chan = Channel::create(0).unwrap();
            tx.send(chan.chid()).unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..2 {
                match chan.receive(&mut buf).unwrap() {
                    Received::Message { rcvid, .. } => rcvid.reply(0, b"ok").unwrap(),
                    Received::Pulse(p) => assert_eq!(p.code, 5),
                }
            }
        })
        .unwrap();
    let chid = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    let client = client_proc
        .spawn(move || {
            let _g = tracing::dispatcher::set_default(&d);
            let conn = Connection::attach(sp, chid).unwrap();
            let mut reply = [0u8; 2];
            conn.send(b"hello", &mut reply).unwrap();
            conn.send_pulse(10, 5, 42).unwrap();
        })
        .unwrap();
    client.join().unwrap();
    server.join().unwrap();
    assert!(guard.events() > 0, "the kernel emitted no trace events");
    let svg = guard.svg();
    if let Some(path) = std::env::var_os("SEQCHART_REAL") {
        std::fs::write(path, &svg).unwrap();
    }
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let (server, client) = (lifeline_x(&elems, (sp, 1)), lifeline_x(&elems, (cp, 1)));
    let a = arrows(&elems);
    let kinds: Vec<&str> = a
        .iter()
        .map(|e| e.attr("class").unwrap().trim_start_matches("arrow "))
        .collect();
    assert_eq!(kinds, ["send", "reply", "pulse"], "{svg}");
    assert_between(a[0], client, server);
    assert_between(a[1], server, client);
    assert_between(a[2], client, server);
    let reply_bars: Vec<&Elem> = elems
        .iter()
        .filter(|e| e.has_class("state") && e.has_class("reply"))
        .collect();
    assert_eq!(reply_bars.len(), 1, "{svg}");
    assert_eq!(
        reply_bars[0].attr("data-pid"),
        Some(cp.to_string().as_str())
    );
    assert_eq!(
        reply_bars[0].num("y"),
        a[0].num("y1"),
        "REPLY-blocked from the receive"
    );
    assert_eq!(
        reply_bars[0].num("y") + reply_bars[0].num("height"),
        a[1].num("y1")
    );
}

#[test]
#[ignore = "writes a sample chart to $SEQCHART_SAMPLE for a look"]
fn sample() {
    let path = std::env::var("SEQCHART_SAMPLE").unwrap();
    let (layer, guard) = seqchart::layer(&path, Options::default()).unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        srr_and_pulse();
        let c2 = (3, 2);
        trace::msg_send(trace::Ring::none(), &msg(CLIENT, (2, 0), 1, 4));
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 1, 4));
        trace::state(trace::Ring::none(), SERVER.0, SERVER.1, "READY", 0, -1);
        trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "REPLY", 2, 1);
        trace::msg_send(trace::Ring::none(), &msg(c2, (2, 0), 2, 4));
        trace::state(trace::Ring::none(), c2.0, c2.1, "SEND", 2, 1);
        trace::msg_reply(trace::Ring::none(), &msg(SERVER, CLIENT, 1, 0), -1, 3);
        trace::state(trace::Ring::none(), CLIENT.0, CLIENT.1, "READY", 0, -1);
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, (0, 0), 2, 4));
        trace::state(trace::Ring::none(), c2.0, c2.1, "REPLY", 2, 1);
        trace::msg_reply(trace::Ring::none(), &msg(SERVER, c2, 2, 0), 0, 0);
        trace::state(trace::Ring::none(), c2.0, c2.1, "READY", 0, -1);
        trace::pulse_queued(trace::Ring::none(), 0, 0, SERVER.0, 1, -1, 0, 5);
        trace::pulse_received(trace::Ring::none(), SERVER.0, SERVER.1, 1, -1, 0, 5);
        trace::async_trigger(trace::Ring::none(), c2.0, c2.1, 0x4000_0001, 3, 11);
        trace::async_get(trace::Ring::none(), SERVER.0, SERVER.1, 2, 3, 11);
    });
    guard.finish().unwrap();
}

/// A resource manager's messages are named by their type (their first two bytes), a
/// notification pulse by its code with its value in hex, and each process by its program
/// (its `qnx::process` event), unless the recorder named it.
#[test]
fn io_messages_pulse_codes_and_programs_are_named() {
    let (layer, guard) = seqchart::memory(Options::default());
    layer.name_process(SERVER.0, "dev-sample");
    let l2 = layer.clone();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        trace::process(
            trace::Ring::none(),
            SERVER.0,
            "ignored: named by the recorder",
        );
        trace::process(trace::Ring::none(), CLIENT.0, "dev-sample-client");
        let read = MsgEvent {
            msg_type: i32::from(userlib::iomsg::_IO_READ),
            ..msg(CLIENT, (SERVER.0, 0), 7, 16)
        };
        trace::msg_send(trace::Ring::none(), &read);
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 7, 16));
        trace::msg_reply(trace::Ring::none(), &msg(SERVER, CLIENT, 7, 12), 12, 0);
        // A message whose first bytes are no I/O type keeps "MsgSend".
        let data = MsgEvent {
            msg_type: i32::from(u16::from_ne_bytes(*b"hi")),
            ..msg(CLIENT, (SERVER.0, 0), 8, 2)
        };
        trace::msg_send(trace::Ring::none(), &data);
        trace::msg_receive(trace::Ring::none(), &msg(SERVER, CLIENT, 8, 2));
        trace::pulse_queued(
            trace::Ring::none(),
            SERVER.0,
            SERVER.1,
            CLIENT.0,
            1,
            userlib::select::SI_NOTIFY,
            0x1000_0000,
            9,
        );
        trace::pulse_received(
            trace::Ring::none(),
            CLIENT.0,
            CLIENT.1,
            1,
            userlib::select::SI_NOTIFY,
            0x1000_0000,
            9,
        );
    });
    // A process event that comes through `record_decoded` names the same way.
    l2.record_decoded(&trace::Decoded {
        ns: 0,
        kind: trace::Kind::Process,
        what: trace::what::CREATED,
        pid: 4,
        tid: 0,
        ints: vec![],
        string: Some(("name", "late-program".into())),
    });
    let svg = guard.svg();
    let elems = parse_xml(&svg).unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"));
    let texts = |class: &str| -> Vec<String> {
        elems
            .iter()
            .filter(|e| e.has_class(class))
            .map(|e| e.text.clone())
            .collect()
    };
    assert_eq!(
        texts("arrow-label"),
        [
            "_IO_READ 16 B",
            "MsgReply 12",
            "MsgSend 2 B",
            "pulse SI_NOTIFY, value 0x10000000"
        ]
    );
    assert_eq!(
        texts("process-label"),
        ["dev-sample, pid 2", "dev-sample-client, pid 3"],
        "{svg}"
    );
    assert_eq!(userlib::iomsg::io_message_name(0x100), Some("_IO_CONNECT"));
    assert_eq!(userlib::iomsg::io_message_name(0x121), Some("_IO_UTIME64"));
    assert_eq!(userlib::iomsg::io_message_name(0x122), None);
    assert_eq!(userlib::iomsg::io_message_name(0xff), None);
}
