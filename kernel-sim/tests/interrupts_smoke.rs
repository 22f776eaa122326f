//! Simulated interrupts, first checks.
mod support;
use support::*;

#[test]
fn smoke() {
    let w = one();
    let id = w.t.interrupt_attach_event(5, &SigEvent::intr(), 0).unwrap();
    assert!(id > 0);
    assert_eq!(w.k.interrupt_raise(5).unwrap(), 1);
    w.t.interrupt_wait(0).unwrap();
    // masked now: a raise is latched
    assert_eq!(w.k.interrupt_raise(5).unwrap(), 0);
    let pid = w.p.pid;
    let k = w.k.clone();
    let bg = spawn(&w.k, w.p, 10, move |c| {
        let id = c.interrupt_attach_event(7, &SigEvent::intr(), 0).unwrap();
        c.interrupt_wait(0).map(|_| id)
    });
    wait_until("INTR", || {
        k.snapshot()
            .threads
            .iter()
            .any(|t| t.pid == pid && t.state == kernel_sim::ThreadState::Intr)
    });
    println!("{}", k.listing());
    k.interrupt_raise(7).unwrap();
    let id7 = bg.join().unwrap();
    assert_eq!(
        w.t.interrupt_unmask(5, id).unwrap(),
        1,
        "latched one redelivered, masked again"
    );
    w.t.interrupt_wait(0).unwrap();
    assert_eq!(w.t.interrupt_unmask(5, id).unwrap(), 0);
    assert_eq!(w.t.interrupt_detach(id7), Ok(()));
    w.t.interrupt_detach(id).unwrap();
    assert_eq!(w.t.interrupt_detach(id), Err(Errno::EINVAL));
    w.finish();
}
