//! The loom harness every `tests/loom_*.rs` model uses (compiled only under `--cfg loom`; see
//! docs/toolbox.md, "loom, as it works here"): [`model`] runs a model at the default
//! preemption bound, [`Coverage`] checks that the models reached the outcomes they are about,
//! and a few steps the models share.

use super::{
    Errno, Kernel, MsgInfo, PoolUsage, RcvId, ThreadCtx, _NTO_TIMEOUT_RECEIVE, CLOCK_MONOTONIC,
};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The preemption bound models run at unless `LOOM_MAX_PREEMPTIONS` says otherwise, and the
/// bound at or above which [`Coverage::check`] insists on every outcome.
pub const PREEMPTIONS: usize = 2;

/// Runs `f` under loom, at [`PREEMPTIONS`] preemptions unless `LOOM_MAX_PREEMPTIONS` says
/// otherwise.
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound.get_or_insert(PREEMPTIONS);
    b.check(f);
}

/// The most outcomes one [`Coverage`] names.
const MAX_OUTCOMES: usize = 8;

/// Outcomes a model must reach at least once, so that it cannot pass by never reaching the
/// race it is about. A `static` per model: recorded across all of loom's executions (with std
/// atomics, which are not part of the model), then checked once the model has run.
#[derive(Debug)]
pub struct Coverage {
    names: &'static [&'static str],
    seen: [AtomicBool; MAX_OUTCOMES],
}

impl Coverage {
    /// Outcomes `names`, referred to by their index.
    pub const fn new(names: &'static [&'static str]) -> Coverage {
        assert!(names.len() <= MAX_OUTCOMES, "too many outcomes");
        Coverage {
            names,
            seen: [const { AtomicBool::new(false) }; MAX_OUTCOMES],
        }
    }

    /// Outcome `i` was reached.
    pub fn hit(&self, i: usize) {
        assert!(i < self.names.len(), "no outcome {i}");
        self.seen[i].store(true, Relaxed);
    }

    /// Every outcome was reached: checked only at the default bound ([`PREEMPTIONS`]) or
    /// above, as fewer preemptions may miss some outcomes.
    pub fn check(&self) {
        let bound = std::env::var("LOOM_MAX_PREEMPTIONS").ok();
        if bound
            .and_then(|v| v.parse::<usize>().ok())
            .is_none_or(|n| n >= PREEMPTIONS)
        {
            for (seen, name) in self.seen.iter().zip(self.names) {
                assert!(seen.load(Relaxed), "never reached: {name}");
            }
        }
    }
}

/// A deadline (in ns) that never passes in real time; under loom a wait with a deadline "may
/// time out at any moment" (wait.rs), so a call armed with it lets loom take the timeout path
/// wherever the call blocks.
pub const ANY_MOMENT: Option<u64> = Some(10_000_000_000);

/// Arms a timeout of [`ANY_MOMENT`] in the states `flags`.
pub fn arm_any_moment(ctx: &ThreadCtx, flags: u32) {
    ctx.timer_timeout(CLOCK_MONOTONIC, flags, ANY_MOMENT)
        .unwrap();
}

/// A MsgReceive that loom may time out wherever it blocks ([`ANY_MOMENT`]).
pub fn receive_any_moment(
    ctx: &ThreadCtx,
    chid: i32,
    buf: &mut [u8],
    info: Option<&mut MsgInfo>,
) -> Result<RcvId, Errno> {
    arm_any_moment(ctx, _NTO_TIMEOUT_RECEIVE);
    ctx.msg_receive(chid, buf, info)
}

/// Checks that every object the model created is freed: every pool is as it was at `start`.
pub fn assert_freed(k: &Kernel, start: PoolUsage) {
    assert_eq!(
        k.pool_usage(),
        start,
        "every object created in the model is freed"
    );
}
