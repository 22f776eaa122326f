//! A reviewer's checks that the student views (the sequence chart, the step mode, the
//! timeline) tell the truth about what was never received or never answered: a MsgSend that
//! leaves the channel's send queue before any receive took it (its TimerTimeout expired, a
//! signal interrupted it, the server died: QNX's ETIMEDOUT, EINTR, ESRCH, and the server never
//! saw it), a pulse dropped from a queue, a receive that timed out, and an exchange the kernel
//! ended while the server held the message (a REPLY-blocked client's timeout on a channel
//! without `_NTO_CHF_UNBLOCK`: the server answered nothing).
//!
//! Before, the chart left such a send as `MsgSend 3 B to pid 2 (queued)` with nothing after it
//! (a student reads that the server has a message waiting), drew the kernel's release of a
//! REPLY-blocked client as the server's `MsgError errno 260`, and ended a timed-out receive's
//! RECEIVE span with no word; the step mode said only that the MsgSend failed.
//!
//! Every blocking call is bounded (TimerTimeout, or a scene that tears its simulated processes
//! down on drop, which releases their threads); every wait polls with a deadline; temporary
//! files are removed.

#[path = "../../kernel-sim/tests/support/scene.rs"]
#[allow(dead_code)]
mod scene;
mod support;
#[path = "support/xml.rs"]
mod xml;

use std::sync::mpsc;

use scene::*;
use support::views::record;
use support::*;
use userlib::consts::*;
use userlib::{Config, Errno, Kernel, ThreadState};

// ------------------------------------------------------------------------------ helpers

fn kernel_with_ring() -> Kernel {
    Kernel::new(Config {
        trace_records: 16384,
        ..Config::default()
    })
    .expect("a kernel")
}

fn elems(svg: &str) -> Vec<xml::Elem> {
    xml::parse_xml(svg).unwrap_or_else(|e| panic!("the chart is not XML: {e}\n{svg}"))
}

/// The label texts of the chart's crosses (`class="ended-label ..."`) on thread (pid, tid)'s
/// lifeline, with the y of their row. The crosses' paths carry the thread.
fn crosses(svg: &str, pid: i32, tid: i32) -> Vec<(String, f64)> {
    let e = elems(svg);
    let rows: Vec<String> = e
        .iter()
        .filter(|x| {
            x.has_class("ended")
                && x.attr("data-pid") == Some(&pid.to_string())
                && x.attr("data-tid") == Some(&tid.to_string())
        })
        .filter_map(|x| x.attr("data-row").map(str::to_string))
        .collect();
    // (Each cross's label follows its path, in row order.)
    let labels: Vec<&xml::Elem> = e.iter().filter(|x| x.has_class("ended-label")).collect();
    let paths: Vec<&xml::Elem> = e.iter().filter(|x| x.has_class("ended")).collect();
    paths
        .iter()
        .zip(labels)
        .filter(|(p, _)| {
            p.attr("data-row")
                .is_some_and(|r| rows.iter().any(|x| x == r))
        })
        .map(|(_, l)| (l.text.clone(), l.num("y") - 4.0))
        .collect()
}

/// The bottom edge of each shaded `state` bar of thread (pid, tid) in `state` (class `send`,
/// `receive`, `reply`).
fn bar_ends(svg: &str, pid: i32, tid: i32, state: &str) -> Vec<f64> {
    elems(svg)
        .iter()
        .filter(|x| {
            x.name == "rect"
                && x.has_class("state")
                && x.has_class(state)
                && x.attr("data-pid") == Some(&pid.to_string())
                && x.attr("data-tid") == Some(&tid.to_string())
        })
        .map(|x| x.num("y") + x.num("height"))
        .collect()
}

/// The texts of every arrow label and queue marker label in the chart.
fn labels(svg: &str) -> Vec<String> {
    elems(svg)
        .iter()
        .filter(|x| x.name == "text")
        .map(|x| x.text.clone())
        .collect()
}

/// The stepper's output, shared with the test.
#[derive(Clone, Default)]
struct Out(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `f` on a new OS thread with the dispatch `d` as its default subscriber.
fn on<T: Send + 'static>(
    d: &tracing::Dispatch,
    f: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    let d = d.clone();
    std::thread::spawn(move || {
        let _g = tracing::dispatcher::set_default(&d);
        let _ = tx.send(f());
    });
    rx
}

/// The step that ends with `head` (a call's exit line), up to its Enter prompt.
fn step_of<'a>(text: &'a str, head: &str) -> &'a str {
    let at = text
        .find(head)
        .unwrap_or_else(|| panic!("no step {head:?} in:\n{text}"));
    let step = &text[at..];
    &step[..step.find("[Enter").unwrap_or(step.len())]
}

/// A stepper (every thread, Enter always pressed) over `k`, as a dispatch, with its output.
fn stepper(k: &Kernel) -> (tracing::Dispatch, userlib::step::StepGuard, Out) {
    use tracing_subscriber::layer::SubscriberExt as _;
    let out = Out::default();
    let (layer, guard) = userlib::step::Stepper::new()
        .input(std::io::Cursor::new("\n".repeat(1000).into_bytes()))
        .output(out.clone())
        .kernel(k)
        .layer();
    let d = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    (d, guard, out)
}

// ---------------------------------------------------------------------------- the chart

/// A client whose SEND timeout expires before the server receives: the chart crosses its
/// message out on its lifeline, `withdrawn, never received: timed out (ETIMEDOUT)`, where its
/// SEND-blocked bar ends; no message arrow reaches the server.
#[test]
fn the_chart_crosses_out_a_send_that_timed_out_in_the_queue() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, _, coid) = s.pair(0);
    let tidc = tc.tid();
    let (_json, svg) = record(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(50_000_000))
                .expect("arm");
            t.msg_send(coid, b"one", &mut [])
        });
        assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    });
    let c = crosses(&svg, pc.pid, tidc);
    assert_eq!(c.len(), 1, "one cross on the client's lifeline:\n{svg}");
    let (label, y) = &c[0];
    assert!(
        label.contains(&format!("MsgSend 3 B to pid {} withdrawn", ps.pid))
            && label.contains("never received")
            && label.contains("timed out (ETIMEDOUT)"),
        "{label}"
    );
    assert!(
        !elems(&svg)
            .iter()
            .any(|x| x.has_class("arrow") && x.has_class("send")),
        "a message arrow for a message never received:\n{svg}"
    );
    let ends = bar_ends(&svg, pc.pid, tidc, "send");
    assert_eq!(ends.len(), 1, "one SEND bar: {ends:?}\n{svg}");
    assert!(
        (ends[0] - y).abs() < 0.5,
        "the SEND bar ends at {} but the cross is at {y}:\n{svg}",
        ends[0]
    );
    drop(ts);
}

/// A SEND-blocked client interrupted by a signal: the chart says `interrupted by a signal
/// (EINTR)`, recorded through a `tracing` subscriber on the client's thread (the layer's own
/// path, not the ring's).
#[test]
fn the_chart_crosses_out_a_send_interrupted_by_a_signal_in_the_queue() {
    extern "C" fn on_sigusr1(_: libc::c_int) {}
    // SAFETY: a handler that does nothing (kernel-sim runs handlers outside the kernel).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    use tracing_subscriber::layer::SubscriberExt as _;
    let k = kernel_with_ring();
    let (layer, chart) = userlib::seqchart::memory(userlib::seqchart::Options::default());
    let d = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
    let mut s = Scene::new(&k);
    let (ps, pc, pk) = (s.process(), s.process(), s.process());
    let (ts, tc, killer) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pk, 10));
    let tidc = tc.tid();
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let r = on(&d, move || {
        tc.adopt_os_thread();
        bound(&tc);
        let r = tc.msg_send(coid, b"four", &mut []);
        drop(tc);
        r
    });
    wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
    killer
        .signal_kill(0, pc.pid, tidc, libc::SIGUSR1, 0, 0)
        .expect("SignalKill");
    assert_eq!(recv(&r), Err(Errno::EINTR));
    let svg = chart.svg();
    let c = crosses(&svg, pc.pid, tidc);
    assert_eq!(c.len(), 1, "one cross on the client's lifeline:\n{svg}");
    assert!(
        c[0].0.contains("withdrawn") && c[0].0.contains("interrupted by a signal (EINTR)"),
        "{}",
        c[0].0
    );
    drop(ts);
    drop(s);
}

/// The server dies while a client waits SEND-blocked and a pulse waits queued: the chart says
/// the message was withdrawn because the channel was destroyed (ESRCH), and crosses the pulse
/// out as dropped; neither is drawn as received.
#[test]
fn the_chart_says_a_send_and_a_pulse_were_never_received_when_the_server_died() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tc, tp) = (s.thread(ps, 10), s.thread(pc, 10), s.thread(pc, 10));
    let (tidc, tidp) = (tc.tid(), tp.tid());
    let chid = ts.channel_create(0).expect("channel");
    let coid = tc
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (_json, svg) = record(&k, || {
        tp.msg_send_pulse(coid, 10, 5, 77).expect("pulse");
        let r = s.run(tc, move |t| {
            bound(t);
            t.msg_send(coid, b"to nobody", &mut [])
        });
        wait_in_state(&k, pc.pid, tidc, ThreadState::Send { pid: ps.pid, chid });
        k.process_destroy(ps).expect("the server dies");
        assert_eq!(recv(&r), Err(Errno::ESRCH));
    });
    let c = crosses(&svg, pc.pid, tidc);
    assert_eq!(c.len(), 1, "{svg}");
    assert!(
        c[0].0.contains("withdrawn") && c[0].0.contains("the channel was destroyed (ESRCH)"),
        "{}",
        c[0].0
    );
    let p = crosses(&svg, pc.pid, tidp);
    assert_eq!(
        p.len(),
        1,
        "the pulse's cross on its sender's lifeline:\n{svg}"
    );
    assert!(
        p[0].0.contains("pulse code 5 dropped, never received")
            && p[0].0.contains("the channel was destroyed"),
        "{}",
        p[0].0
    );
    assert!(!elems(&svg)
        .iter()
        .any(|x| x.has_class("arrow") && (x.has_class("send") || x.has_class("pulse"))));
}

/// A server's MsgReceive that times out with nothing sent: the chart crosses it out on the
/// server's lifeline, `MsgReceive failed: ETIMEDOUT (timed out)`, where its RECEIVE bar ends.
#[test]
fn the_chart_crosses_out_a_receive_that_timed_out() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let ps = s.process();
    let ts = s.thread(ps, 10);
    let tids = ts.tid();
    let chid = ts.channel_create(0).expect("channel");
    let (_json, svg) = record(&k, || {
        let r = s.run(ts, move |t| {
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_RECEIVE, Some(50_000_000))
                .expect("arm");
            t.msg_receive(chid, &mut [0u8; 16], None)
        });
        assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    });
    let c = crosses(&svg, ps.pid, tids);
    assert_eq!(c.len(), 1, "one cross on the server's lifeline:\n{svg}");
    assert_eq!(c[0].0, "MsgReceive failed: ETIMEDOUT (timed out)");
    let ends = bar_ends(&svg, ps.pid, tids, "receive");
    assert_eq!(ends.len(), 1, "one RECEIVE bar: {ends:?}\n{svg}");
    assert!(
        (ends[0] - c[0].1).abs() < 0.5,
        "the RECEIVE bar ends at {} but the cross is at {}:\n{svg}",
        ends[0],
        c[0].1
    );
}

/// A REPLY-blocked client's timeout on a channel without `_NTO_CHF_UNBLOCK` releases it at
/// once: the server answered nothing (its later MsgReply gets ESRCH). The chart draws the
/// release from the kernel (`released by the kernel: ETIMEDOUT (timed out)`), not as the
/// server's `MsgError errno 260`.
#[test]
fn the_chart_draws_a_kernel_ended_exchange_from_the_kernel_not_as_the_servers_msgerror() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let (_json, svg) = record(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(100_000_000),
            )
            .expect("arm");
            t.msg_send(coid, b"slow", &mut [])
        });
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut [0u8; 16], None).expect("receive");
        assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
        assert_eq!(ts.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    });
    let all = labels(&svg);
    assert!(
        !all.iter().any(|l| l.starts_with("MsgError")),
        "the kernel's release drawn as the server's MsgError: {all:?}"
    );
    let e = elems(&svg);
    let replies: Vec<&xml::Elem> = e
        .iter()
        .filter(|x| x.has_class("arrow") && x.has_class("reply"))
        .collect();
    assert_eq!(replies.len(), 1, "{svg}");
    assert_eq!(replies[0].attr("data-from"), Some("0.0"), "from the kernel");
    assert_eq!(
        replies[0].attr("data-to"),
        Some(format!("{}.{tidc}", pc.pid).as_str())
    );
    assert!(
        all.iter()
            .any(|l| l == "released by the kernel: ETIMEDOUT (timed out)"),
        "{all:?}"
    );
    // The message itself was received: its arrow is there, to the server.
    assert!(e.iter().any(|x| x.has_class("arrow")
        && x.has_class("send")
        && x.attr("data-to") == Some(format!("{}.{tids}", ps.pid).as_str())));
}

/// An unblock pulse the kernel queued for a REPLY-blocked client, removed when the server
/// answered before receiving it: crossed out as dropped (`its exchange had ended`), not left
/// as a pulse waiting in the queue.
#[test]
fn the_chart_crosses_out_an_unblock_pulse_the_answer_made_unneeded() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, _, ts, tc, chid, coid) = s.pair(_NTO_CHF_UNBLOCK);
    let (_json, svg) = record(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(
                CLOCK_MONOTONIC,
                _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
                Some(50_000_000),
            )
            .expect("arm");
            t.msg_send(coid, b"slow", &mut [])
        });
        bound(&ts);
        let rcvid = ts.msg_receive(chid, &mut [0u8; 16], None).expect("receive");
        wait_until("the unblock pulse queued", || {
            channel(&k, ps.pid, chid).queued == 1
        });
        ts.msg_error(rcvid, Errno::EINTR).expect("MsgError");
        assert_eq!(recv(&r), Err(Errno::EINTR));
    });
    let c = crosses(&svg, 0, 0);
    assert_eq!(c.len(), 1, "one cross on the kernel's lifeline:\n{svg}");
    assert!(
        c[0].0
            .contains("pulse _PULSE_CODE_UNBLOCK dropped, never received: its exchange had ended"),
        "{}",
        c[0].0
    );
    // The server's MsgError is the server's answer, drawn as such.
    assert!(labels(&svg).iter().any(|l| l == "MsgError errno 4"));
}

// ------------------------------------------------------------------------ the step mode

/// The step mode's MsgSend step of a client whose SEND timeout expired says the message left
/// the send queue unreceived, why, and that the server never saw it.
#[test]
fn the_step_mode_says_a_timed_out_message_left_the_queue_unreceived() {
    let k = kernel_with_ring();
    let (d, guard, out) = stepper(&k);
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let tidc = tc.tid();
    let r = on(&d, move || {
        tc.adopt_os_thread();
        tc.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(50_000_000))
            .expect("arm");
        let r = tc.msg_send(coid, b"nobody receives", &mut []);
        drop(tc);
        r
    });
    assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    drop(s);
    drop(guard);
    let text = out.text();
    let step = step_of(
        &text,
        &format!("pid {} tid {tidc}: MsgSend failed: ETIMEDOUT", pc.pid),
    );
    assert!(
        step.contains(&format!(
            "did: pid {} tid {tidc}'s message (15 bytes to pid {} chid {chid}) left the send \
             queue unreceived: its timeout expired",
            pc.pid, ps.pid
        )) && step.contains("the server never saw it"),
        "the step does not say the message left the queue, and why:\n{step}"
    );
    drop(ts);
}

/// The step mode does not say the server failed a message the kernel released (a
/// REPLY-blocked client's timeout, no `_NTO_CHF_UNBLOCK`): it says the kernel released it and
/// the server answered nothing.
#[test]
fn the_step_mode_says_the_kernel_not_the_server_ended_a_timed_out_exchange() {
    let k = kernel_with_ring();
    let (d, guard, out) = stepper(&k);
    let mut s = Scene::new(&k);
    let (ps, pc, ts, tc, chid, coid) = s.pair(0);
    let (tids, tidc) = (ts.tid(), tc.tid());
    let r = on(&d, move || {
        tc.adopt_os_thread();
        tc.timer_timeout(
            CLOCK_MONOTONIC,
            _NTO_TIMEOUT_SEND | _NTO_TIMEOUT_REPLY,
            Some(100_000_000),
        )
        .expect("arm");
        let r = tc.msg_send(coid, b"slow", &mut []);
        drop(tc);
        r
    });
    bound(&ts);
    let rcvid = ts.msg_receive(chid, &mut [0u8; 16], None).expect("receive");
    assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    assert_eq!(ts.msg_reply(rcvid, 0, b""), Err(Errno::ESRCH));
    drop(s);
    drop(guard);
    let text = out.text();
    let step = step_of(
        &text,
        &format!("pid {} tid {tidc}: MsgSend failed: ETIMEDOUT", pc.pid),
    );
    assert!(
        !step.contains(&format!("failed pid {} tid {tidc}'s message", pc.pid)),
        "the kernel's release shown as the server failing the message:\n{step}"
    );
    assert!(
        step.contains(&format!(
            "the kernel released pid {} tid {tidc} from its exchange with pid {} tid {tids}",
            pc.pid, ps.pid
        )) && step.contains("the server answered nothing"),
        "{step}"
    );
    drop(ts);
}

// ------------------------------------------------------------------------- the timeline

fn events(json: &serde_json::Value) -> &Vec<serde_json::Value> {
    json["traceEvents"].as_array().expect("traceEvents")
}

/// The timeline of a send that timed out in the queue: an instant where the client's SEND
/// span ends, `message withdrawn, never received: timeout (ETIMEDOUT)`, on the client's
/// process, and the `withdrawn` event (`why`, `error`) in its MsgSend slice's args.
#[test]
fn the_timeline_marks_a_withdrawn_send_and_puts_it_in_its_msgsend() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (_, pc, ts, tc, _, coid) = s.pair(0);
    let (json, _svg) = record(&k, || {
        let r = s.run(tc, move |t| {
            t.timer_timeout(CLOCK_MONOTONIC, _NTO_TIMEOUT_SEND, Some(50_000_000))
                .expect("arm");
            t.msg_send(coid, b"one", &mut [])
        });
        assert_eq!(recv(&r), Err(Errno::ETIMEDOUT));
    });
    let ev = events(&json);
    let marks: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| {
            e["ph"] == "i" && e["name"] == "message withdrawn, never received: timeout (ETIMEDOUT)"
        })
        .collect();
    assert_eq!(marks.len(), 1, "{json:#}");
    assert_eq!(marks[0]["pid"].as_i64(), Some(pc.pid.into()));
    let send_end = ev
        .iter()
        .find(|e| e["ph"] == "E" && e["name"] == "MsgSend" && e["pid"] == pc.pid)
        .expect("the MsgSend slice's end");
    assert_eq!(
        send_end["args"]["withdrawn"]["why"], "timeout",
        "{send_end}"
    );
    assert_eq!(
        send_end["args"]["withdrawn"]["error"].as_i64(),
        Some(Errno::ETIMEDOUT.0.into())
    );
    drop(ts);
}

/// The timeline of a pulse dropped with its channel: its flow runs from where it was queued to
/// the kernel's `pulse dropped: channel` slice, instead of stopping at the queue.
#[test]
fn the_timeline_ends_a_dropped_pulses_flow_at_the_kernels_drop() {
    let k = kernel_with_ring();
    let mut s = Scene::new(&k);
    let (ps, pc) = (s.process(), s.process());
    let (ts, tp) = (s.thread(ps, 10), s.thread(pc, 10));
    let chid = ts.channel_create(0).expect("channel");
    let coid = tp
        .connect_attach(0, ps.pid, chid, _NTO_SIDE_CHANNEL, 0)
        .expect("connect");
    let (json, _svg) = record(&k, || {
        tp.msg_send_pulse(coid, 10, 5, 77).expect("pulse");
        ts.channel_destroy(chid).expect("ChannelDestroy");
    });
    let ev = events(&json);
    let flow: Vec<&serde_json::Value> = ev
        .iter()
        .filter(|e| e["cat"] == "pulse" && matches!(e["ph"].as_str(), Some("s" | "f")))
        .collect();
    assert_eq!(flow.len(), 2, "the pulse's flow, start and end: {json:#}");
    assert_eq!(flow[0]["ph"], "s");
    assert_eq!(flow[0]["pid"].as_i64(), Some(pc.pid.into()));
    let end = flow[1];
    assert_eq!(end["ph"], "f");
    let dropped = ev
        .iter()
        .find(|e| e["ph"] == "X" && e["name"] == "pulse dropped: channel")
        .unwrap_or_else(|| panic!("no drop slice: {json:#}"));
    assert_eq!(
        (&end["pid"], &end["tid"]),
        (&dropped["pid"], &dropped["tid"]),
        "the flow ends at the drop"
    );
}
