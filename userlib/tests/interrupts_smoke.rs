//! Interrupt handlers, first checks.
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use userlib::interrupt::*;
use userlib::{Process, SigEvent};

#[test]
fn handler_runs_masked_and_its_event_wakes_the_attacher() {
    let p = Process::new().unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let r2 = runs.clone();
    let h = p
        .spawn(move || {
            let id = interrupt_attach(
                12,
                move |_id| {
                    r2.fetch_add(1, Ordering::SeqCst);
                    Some(SigEvent::intr())
                },
                0,
            )
            .unwrap();
            for _ in 0..3 {
                interrupt_wait(0).unwrap();
            }
            interrupt_detach(id).unwrap();
        })
        .unwrap();
    let k = p.kernel().clone();
    let mut delivered = 0;
    while !h.is_finished() {
        delivered += k.interrupt_raise(12).unwrap_or(0);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    h.join().unwrap();
    assert!(runs.load(Ordering::SeqCst) >= 3);
    assert!(delivered >= 3);
    println!("{}", k.listing());
}
