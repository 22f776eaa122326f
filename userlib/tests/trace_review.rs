//! Review of the recorders (`userlib::step`, `userlib::seqchart`): what a long run does to them.

use std::io::{self, Cursor, Write};
use std::sync::{Arc, Mutex};

use kernel_sim::trace;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use userlib::step::Stepper;

#[derive(Clone, Default)]
struct Out(Arc<Mutex<Vec<u8>>>);

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The step mode kept every state change made while any call was in progress (a server
/// blocked in MsgReceive for the whole run keeps one in progress), so its memory grew with the
/// run; it now keeps the latest changes only. Seen here through a call that makes a great many
/// changes: its step lists a bounded number of them.
#[test]
fn the_step_mode_keeps_a_bounded_number_of_state_changes() {
    let out = Out::default();
    let (layer, guard) = Stepper::new()
        .input(Cursor::new(b"\n\n\n".to_vec()))
        .output(out.clone())
        .threads([(1, 1)])
        .layer();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&d, || {
        trace::call_enter(trace::Ring::none(), 1, 1, "MsgReceive");
        for i in 0..100_000 {
            let s = if i % 2 == 0 { "READY" } else { "RUNNING" };
            trace::state(trace::Ring::none(), 1, 1, s, 0, -1);
        }
        trace::call_exit(trace::Ring::none(), 1, 1, "MsgReceive", 0);
    });
    drop(guard);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let listed = text.lines().filter(|l| l.contains(" -> ")).count();
    assert!(listed > 0, "the call's changes are listed:\n{text:.2000}");
    assert!(
        listed <= 10_000,
        "{listed} state changes kept and listed for one step"
    );
}

/// Bytes allocated and not freed by the calling thread (the other tests' threads apart).
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
    }

    pub struct Counting;

    fn add(n: isize) {
        let _ = LIVE.try_with(|l| l.set(l.get() + n));
    }

    // SAFETY: forwards to the system allocator.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            add(l.size() as isize);
            // SAFETY: as the caller's.
            unsafe { System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            add(-(l.size() as isize));
            // SAFETY: as the caller's.
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            add(new as isize - l.size() as isize);
            // SAFETY: as the caller's.
            unsafe { System.realloc(p, l, new) }
        }
    }

    pub fn live() -> isize {
        LIVE.with(Cell::get)
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// A chart with a row cap (the examples' `--diagram` draws 60 rows) kept every event of the
/// run, however long: it now keeps what its rows need and counts the rest.
#[test]
fn a_chart_with_a_row_cap_keeps_a_bounded_recording() {
    use userlib::seqchart::{self, Options};
    let (layer, guard) = seqchart::memory(Options {
        max_rows: Some(10),
        title: None,
    });
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    let before = counting::live();
    const N: u64 = 50_000;
    tracing::dispatcher::with_default(&d, || {
        for i in 0..N {
            let mut e = trace::MsgEvent {
                pid: 2,
                tid: 1,
                peer_pid: 1,
                peer_tid: 1,
                chid: 1,
                rcvid: 0,
                exchange: i,
                bytes: 4,
                msg_type: -1,
            };
            trace::state(trace::Ring::none(), 2, 1, "SEND", 1, 1);
            trace::msg_send(trace::Ring::none(), &e);
            e.pid = 1;
            e.peer_pid = 2;
            trace::msg_receive(trace::Ring::none(), &e);
            trace::state(trace::Ring::none(), 2, 1, "REPLY", 1, 1);
            trace::msg_reply(trace::Ring::none(), &e, 0, 0);
            trace::state(trace::Ring::none(), 2, 1, "READY", 0, -1);
        }
    });
    let grown = counting::live() - before;
    assert!(grown < 256 << 10, "the recording holds {grown} bytes");
    let svg = guard.svg();
    // Each exchange is two rows (the send drawn at its receive, the reply): ten drawn.
    let more = format!("… {} more events", 2 * N - 10);
    assert!(svg.contains(&more), "no {more:?} in {svg:.3000}");
}

/// The most negative status or result (a server may reply any `long`: MsgSend returns it):
/// each recorder negated it to find an errno, which overflows (a panic in a debug build; the
/// step mode's and the chart's under the kernel lock, in the replier's MsgReply).
fn extreme_events() {
    for (status, result) in [
        (i64::MIN, i64::MIN),
        (i64::from(i32::MIN), i64::from(i32::MIN)),
    ] {
        let e = trace::MsgEvent {
            pid: 1,
            tid: 1,
            peer_pid: 2,
            peer_tid: 1,
            chid: 1,
            rcvid: 1,
            exchange: 7,
            bytes: 0,
            msg_type: -1,
        };
        trace::call_enter(trace::Ring::none(), 1, 1, "MsgReply");
        trace::msg_reply(trace::Ring::none(), &e, status, i32::MIN);
        trace::call_exit(trace::Ring::none(), 1, 1, "MsgReply", 0);
        trace::call_enter(trace::Ring::none(), 2, 1, "MsgSend");
        trace::call_exit(trace::Ring::none(), 2, 1, "MsgSend", result);
    }
}

#[test]
fn the_step_mode_takes_the_most_negative_status() {
    let out = Out::default();
    let (layer, guard) = Stepper::new()
        .input(Cursor::new(b"\n\n\n\n\n\n\n\n\n\n".to_vec()))
        .output(out.clone())
        .layer();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&d, extreme_events);
    drop(guard);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("MsgSend"), "{text}");
}

#[test]
fn the_timeline_takes_the_most_negative_result() {
    let path = std::env::temp_dir().join(format!("trace_review_{}.json", std::process::id()));
    let (layer, guard) = userlib::timeline::TimelineLayer::new(&path).unwrap();
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&d, extreme_events);
    let w = guard.finish().unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(w.recorded > 0);
}

#[test]
fn the_chart_takes_the_most_negative_status() {
    let (layer, guard) = userlib::seqchart::memory(userlib::seqchart::Options::default());
    let d = Dispatch::new(tracing_subscriber::registry().with(layer));
    tracing::dispatcher::with_default(&d, extreme_events);
    assert!(guard.svg().contains("MsgError"));
}

/// Odd ids (negative, zero, the largest) in every event: no recorder panics.
fn odd_events() {
    for &(pid, tid) in &[
        (-5, -1),
        (0, 7),
        (i32::MAX, i32::MAX),
        (3, 0),
        (i32::MIN, i32::MIN),
    ] {
        let e = trace::MsgEvent {
            pid,
            tid,
            peer_pid: -pid.saturating_add(1),
            peer_tid: tid,
            chid: -1,
            rcvid: i64::MIN,
            exchange: u64::MAX,
            bytes: u64::MAX,
            msg_type: -1,
        };
        trace::call_enter(trace::Ring::none(), pid, tid, "MsgSend");
        trace::state(trace::Ring::none(), pid, tid, "SEND", pid, i32::MIN);
        trace::msg_send(trace::Ring::none(), &e);
        trace::msg_receive(trace::Ring::none(), &e);
        trace::prio(trace::Ring::none(), pid, tid, 255, 0, "set");
        trace::pulse_queued(
            trace::Ring::none(),
            pid,
            tid,
            pid,
            -1,
            i8::MIN,
            i32::MIN,
            u64::MAX,
        );
        trace::pulse_received(
            trace::Ring::none(),
            pid,
            tid,
            -1,
            i8::MIN,
            i32::MIN,
            u64::MAX,
        );
        trace::async_trigger(trace::Ring::none(), pid, tid, i32::MIN, u32::MAX, u64::MAX);
        trace::async_get(trace::Ring::none(), pid, tid, i32::MIN, u32::MAX, u64::MAX);
        trace::timer_fired(trace::Ring::none(), pid, tid, i32::MIN, "timer");
        trace::msg_reply(trace::Ring::none(), &e, i64::MAX, 0);
        trace::state(trace::Ring::none(), pid, tid, "DEAD", 0, -1);
        trace::teardown(trace::Ring::none(), pid, "done");
        trace::call_exit(trace::Ring::none(), pid, tid, "MsgSend", i64::MAX);
    }
}

#[test]
fn odd_ids_panic_no_recorder() {
    let out = Out::default();
    let (step, sguard) = Stepper::new()
        .input(Cursor::new(b"\n".repeat(100)))
        .output(out.clone())
        .layer();
    let (chart, cguard) = userlib::seqchart::memory(userlib::seqchart::Options {
        max_rows: Some(3),
        title: Some("<&\"odd\">".into()),
    });
    let path = std::env::temp_dir().join(format!("trace_review_odd_{}.json", std::process::id()));
    let (tl, tguard) = userlib::timeline::TimelineLayer::new(&path).unwrap();
    tguard.name_process(i32::MAX, "\"quoted\" \\ name\n");
    let (full, fguard) = userlib::seqchart::memory(userlib::seqchart::Options::default());
    let d = Dispatch::new(
        tracing_subscriber::registry()
            .with(step)
            .with(chart)
            .with(full)
            .with(tl),
    );
    tracing::dispatcher::with_default(&d, odd_events);
    drop(sguard);
    let _ = cguard.svg();
    let _ = fguard.svg();
    tguard.finish().unwrap();
    let json = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(json.contains("\\\"quoted\\\""), "{json:.2000}");
}
