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
        trace::call_enter(1, 1, "MsgReceive");
        for i in 0..100_000 {
            let s = if i % 2 == 0 { "READY" } else { "RUNNING" };
            trace::state(1, 1, s, 0, -1);
        }
        trace::call_exit(1, 1, "MsgReceive", 0);
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
