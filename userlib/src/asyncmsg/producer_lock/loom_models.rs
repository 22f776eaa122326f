//! loom models of the asyncmsg connection's lock ([`ProducerLock`], producer_lock.rs): a
//! general path released by a plain store, and an owner's path taken with plain stores and
//! loads, which another thread revokes by Dekker's handshake (under loom both of its fences
//! are SeqCst fences; natively the owner's is a compiler fence and the revoker's a
//! membarrier). In every interleaving loom finds, no two threads hold the lock at once (loom
//! checks each access to the value through the guards), no update is lost, and every waiter
//! gets the lock (loom fails a model that cannot finish). Under loom a thread owns the lock
//! after one general-path acquisition, so the models reach the owner's path at once.
//!
//! Unit tests, as the lock is private to the crate; compiled only under `--cfg loom` (see
//! docs/toolbox.md, "loom, as it works here"). CI runs them with kernel-sim's models
//! (`.ci/run`: the tests in a `loom_models` module).

use super::ProducerLock;
use loom::sync::Arc;
use loom::thread;

/// Runs `f` under loom at 3 preemptions unless `LOOM_MAX_PREEMPTIONS` says otherwise. Waiters
/// spin (yielding to loom), so paths run longer than in a model whose waiters sleep: loom's
/// branch limit is raised.
fn spinning_model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound.get_or_insert(3);
    b.max_branches = 100_000;
    b.check(f);
}

/// Adds `id` to the value's list and counts, as a read-then-write a second holder would break.
fn bump(lock: &ProducerLock<(u32, Vec<u32>)>, id: u32) {
    let mut g = lock.lock();
    let n = g.0;
    g.1.push(id);
    g.0 = n + 1;
}

/// Checks that every `bump` left its mark: the count, and the ids in any order.
fn assert_bumped(lock: &ProducerLock<(u32, Vec<u32>)>, mut want: Vec<u32>) {
    let g = lock.lock();
    assert_eq!(g.0 as usize, want.len());
    let mut ids = g.1.clone();
    ids.sort_unstable();
    want.sort_unstable();
    assert_eq!(ids, want);
}

#[test]
fn the_owner_and_a_revoking_thread_never_hold_it_together() {
    spinning_model(|| {
        let lock = Arc::new(ProducerLock::new((0u32, Vec::<u32>::new())));
        // The main thread takes it once: it becomes the owner.
        bump(&lock, 0);
        assert!(lock.is_biased());
        let other = {
            let lock = lock.clone();
            thread::spawn(move || bump(&lock, 1))
        };
        // The owner's path, racing the other thread's revocation.
        bump(&lock, 0);
        other.join().unwrap();
        assert_bumped(&lock, vec![0, 0, 1]);
    });
}

#[test]
fn a_stale_former_owner_never_lets_a_revoker_in_beside_the_lock_holder() {
    // The main thread owns the lock and races into the owner's path while the other thread
    // revokes its bias and then takes the lock twice more (enough, under loom, to qualify as
    // an owner): the main thread's attempt may go stale (marked busy, bias gone). A second
    // owner's `busy` flag could then be cleared by the stale attempt, letting a revoker in
    // beside it; only the first owner may ever own the lock, so this must hold in every
    // interleaving.
    spinning_model(|| {
        let lock = Arc::new(ProducerLock::new((0u32, Vec::<u32>::new())));
        bump(&lock, 0);
        let other = {
            let lock = lock.clone();
            thread::spawn(move || {
                bump(&lock, 1);
                bump(&lock, 1);
                bump(&lock, 1);
            })
        };
        bump(&lock, 0);
        other.join().unwrap();
        assert_bumped(&lock, vec![0, 0, 1, 1, 1]);
    });
}

#[test]
fn two_threads_on_the_general_path_exclude() {
    spinning_model(|| {
        let lock = Arc::new(ProducerLock::new((0u32, Vec::<u32>::new())));
        let other = {
            let lock = lock.clone();
            thread::spawn(move || bump(&lock, 1))
        };
        bump(&lock, 0);
        other.join().unwrap();
        assert_bumped(&lock, vec![0, 1]);
    });
}
