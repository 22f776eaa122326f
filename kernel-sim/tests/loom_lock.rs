#![cfg(loom)]
//! loom model of the kernel lock alone: three threads make kernel calls that only take the lock
//! (ThreadAttach, ChannelCreate), contending for it, and no update to the tables is lost.
//!
//! Run with `--cfg loom` (see docs/toolbox.md, "loom, as it works here").

mod support;

use loom::thread;
use support::*;

#[test]
fn contended_kernel_lock_loses_no_updates() {
    model(|| {
        let k = Kernel::new(Config::small()).unwrap();
        let p = k.process_create().unwrap();
        let start = k.pool_usage();
        let entries0 = k.kernel_entries();

        let others: Vec<_> = (0..2)
            .map(|_| {
                let kt = k.clone();
                thread::spawn(move || {
                    let t = kt.thread_attach(p, 10).unwrap();
                    t.channel_create(0).unwrap()
                })
            })
            .collect();
        let me = k.thread_attach(p, 10).unwrap();
        let mut chids = vec![me.channel_create(0).unwrap()];
        chids.extend(others.into_iter().map(|h| h.join().unwrap()));

        chids.sort_unstable();
        chids.dedup();
        assert_eq!(chids.len(), 3, "three distinct channels: {chids:?}");
        let mid = k.pool_usage();
        assert_eq!(mid.channels.live, start.channels.live + 3);
        assert_eq!(mid.threads.live, start.threads.live + 1, "two threads gone");

        for chid in chids {
            me.channel_destroy(chid).unwrap();
        }
        // Three ChannelCreates and three ChannelDestroys went through `ThreadCtx::call`.
        assert_eq!(k.kernel_entries(), entries0 + 6);
        assert_eq!(k.process_counters(p.pid).unwrap().kernel_entries, 6);
        drop(me);
        assert_eq!(k.pool_usage(), start);
    });
}
