//! The one set of timeouts every kernel-sim test uses (userlib's tests use the same names and
//! values). The kernel's own timeouts (`TimerTimeout`) take nanoseconds, so those three are
//! `u64` ns; the test's own waits take a [`Duration`].
//!
//! How they relate: a call bounded by [`LONG`] that never completes returns ETIMEDOUT well
//! before a join or state wait bounded by [`DEADLINE`] gives up, so the test fails on the
//! call's result; [`SAFETY`] is far beyond both, so it can never be mistaken for the behaviour
//! under test.

use std::time::Duration;

/// Bound on calls expected to complete (in ns): generous, only there so that a kernel bug
/// fails the test instead of hanging it.
pub const LONG: u64 = 10_000_000_000;

/// A timeout the test expects to expire (in ns); also the unit a test sleeps in to see that
/// something does *not* happen.
pub const SHORT: u64 = 50_000_000;

/// Bound on calls the test expects to be ended by something that *also* yields ETIMEDOUT (an
/// event, an unblock) (in ns): far beyond every [`DEADLINE`], so the safety bound can never be
/// mistaken for the behaviour under test.
pub const SAFETY: u64 = 60_000_000_000;

/// How long a bounded join, state wait or condition wait waits before failing the test.
pub const DEADLINE: Duration = Duration::from_secs(20);
