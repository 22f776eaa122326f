#![cfg(loom)]
//! loom model of the asyncmsg connection's lock ([`kernel_sim::spin::ProducerLock`]), whose
//! release is a plain store and whose waiters are never woken: two threads (a producer and the
//! library thread, or a second producer) take it in every interleaving loom finds; the two
//! never hold it at once (loom checks each access to the value through the guard), no update
//! is lost, and the waiter gets it (loom fails a model that cannot finish). Two threads, not
//! three: waiters spin, and three spinning threads' paths outgrow what CI can explore.
//!
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

use kernel_sim::spin::ProducerLock;
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound.get_or_insert(3);
    // Waiters spin (yielding to loom), so paths run longer than in a model whose waiters sleep.
    b.max_branches = 100_000;
    b.check(f);
}

#[test]
fn contended_producer_lock_excludes_and_loses_no_update() {
    model(|| {
        let lock = Arc::new(ProducerLock::new((0u32, Vec::<u32>::new())));
        let others: Vec<_> = (1..=1)
            .map(|id| {
                let lock = lock.clone();
                thread::spawn(move || {
                    let mut g = lock.lock();
                    let n = g.0;
                    g.1.push(id);
                    g.0 = n + 1;
                })
            })
            .collect();
        {
            let mut g = lock.lock();
            let n = g.0;
            g.1.push(0);
            g.0 = n + 1;
        }
        for t in others {
            t.join().unwrap();
        }
        let g = lock.lock();
        assert_eq!(g.0, 2);
        let mut ids = g.1.clone();
        ids.sort_unstable();
        assert_eq!(ids, vec![0, 1]);
    });
}

#[test]
fn try_lock_never_shares_the_lock() {
    model(|| {
        let lock = Arc::new(ProducerLock::new(0u32));
        let t = {
            let lock = lock.clone();
            thread::spawn(move || {
                let mut g = lock.lock();
                *g += 1;
            })
        };
        let took = match lock.try_lock() {
            Some(mut g) => {
                *g += 10;
                true
            }
            None => false,
        };
        t.join().unwrap();
        assert_eq!(*lock.lock(), if took { 11 } else { 1 });
    });
}
