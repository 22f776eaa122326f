//! What the example programs share: an error that says which call failed ([`Failure`], made
//! with [`Context::context`]), a bounded wait for the threads a program started
//! ([`join_all`]), the kernel's listing at a chosen moment for `--pidin` ([`pidin`],
//! [`await_moment`]), and running an example's sides as separate programs for `--processes`
//! ([`programs`]). The programs themselves are the binaries (`src/srr_demo.rs`,
//! `src/event_loop.rs`, `src/sensors.rs`, `src/echo_server.rs`, `src/echo_client.rs`).

pub mod observe;
pub mod programs;

use std::fmt;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A step of an example that failed: what was being done, and why.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// A failure described by `msg`.
    pub fn new(msg: impl Into<String>) -> Failure {
        Failure(msg.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// Names the step that failed: `call().context(|| "MsgReceive on chid 1")` fails with
/// "MsgReceive on chid 1 failed: ETIMEDOUT: Timed out".
pub trait Context<T> {
    /// The error, prefixed with what was being done (built only on failure).
    fn context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T, Failure>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    #[inline]
    fn context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T, Failure> {
        self.map_err(|e| Failure(format!("{} failed: {e}", what())))
    }
}

/// How long [`join_all`] waits for the other threads once one has failed: a failure usually
/// makes its peers fail too (a server's channel goes, its clients' sends fail), and their
/// errors are worth reporting with it.
const GRACE: Duration = Duration::from_millis(500);

/// How often [`join_all`] looks at its threads and at `progress`.
const POLL: Duration = Duration::from_millis(10);

/// A thread of an example, with the name its failure is reported under.
pub type Named<T> = (String, JoinHandle<Result<T, Failure>>);

/// A `u64` option's parser that accepts `lo..=hi`: a number outside it, negative ones too, is
/// refused naming the range (`-1 is not in 0..=1000`), where a plain `u64` parser would say
/// only that `-` is not a digit.
pub fn u64_in(lo: u64, hi: u64) -> impl clap::builder::TypedValueParser<Value = u64> + 'static {
    use clap::builder::TypedValueParser as _;
    clap::value_parser!(i64)
        .range(lo as i64..=hi as i64)
        .map(|v| v as u64)
}

/// Waits for `threads` (each with a name for the report) and returns their values in order.
///
/// The wait is bounded without a timeout on each kernel call (which would be a kernel entry
/// of its own, and would change what the examples count):
/// * when `progress()` has not changed for `stall`, the threads are taken to hang: the error
///   names the ones still running. A constant `progress` makes `stall` a plain time limit;
/// * once a thread has failed, the others get `GRACE` (half a second) to finish; the error lists every
///   failure, first-named thread first (list the thread whose failure would cause the others'
///   first: a server before its clients).
///
/// Threads still running are left behind; the caller reports the error and exits, which ends
/// them.
pub fn join_all<T>(
    threads: Vec<Named<T>>,
    stall: Duration,
    mut progress: impl FnMut() -> u64,
) -> Result<Vec<T>, Failure> {
    struct Slot<T> {
        name: String,
        handle: Option<JoinHandle<Result<T, Failure>>>,
        result: Option<Result<T, Failure>>,
    }
    let mut slots: Vec<Slot<T>> = threads
        .into_iter()
        .map(|(name, h)| Slot {
            name,
            handle: Some(h),
            result: None,
        })
        .collect();
    let mut last = progress();
    let mut moved_at = Instant::now();
    let mut failed_at: Option<Instant> = None;
    let mut stalled = false;
    loop {
        for slot in &mut slots {
            let Some(h) = slot.handle.take_if(|h| h.is_finished()) else {
                continue;
            };
            let r = h
                .join()
                .unwrap_or_else(|panic| Err(Failure(format!("panicked: {}", panic_text(&*panic)))));
            if r.is_err() && failed_at.is_none() {
                failed_at = Some(Instant::now());
            }
            slot.result = Some(r);
        }
        if slots.iter().all(|s| s.result.is_some())
            || failed_at.is_some_and(|t| t.elapsed() >= GRACE)
        {
            break;
        }
        let now = progress();
        if now != last {
            last = now;
            moved_at = Instant::now();
        } else if moved_at.elapsed() >= stall {
            stalled = true;
            break;
        }
        std::thread::sleep(POLL);
    }

    let mut problems = Vec::new();
    let mut values = Vec::new();
    let mut running = Vec::new();
    for slot in slots {
        match slot.result {
            Some(Ok(v)) => values.push(v),
            Some(Err(e)) => problems.push(format!("{}: {e}", slot.name)),
            None => running.push(slot.name),
        }
    }
    if !running.is_empty() {
        let running = running.join(", ");
        problems.push(if stalled {
            format!("nothing moved for {stall:?}; still waiting: {running}")
        } else {
            format!("still waiting after the failure above: {running}")
        });
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(Failure(problems.join("\n  ")))
    }
}

/// What `--pidin` prints: a title saying what moment of the run it shows, then what
/// `pidin-sim` would show of `kernel` now (`Kernel::listing`: processes with their counters,
/// threads with their states, channels, connections, asyncmsg queues, pools).
pub fn pidin(when: &str, kernel: &userlib::Kernel) -> String {
    format!("--- pidin: {when}\n{}\n", kernel.listing())
}

/// Waits until `reached()` holds, looking every millisecond: true then. False, at once, if
/// `give_up()` holds first (the moment can no longer come: a thread it needs has ended), or
/// after `limit`. For `--pidin`, which shows the kernel at a chosen moment of a run: a run
/// that never gets there shows nothing then, and ends with its own error if it has one.
pub fn await_moment(
    limit: Duration,
    mut reached: impl FnMut() -> bool,
    mut give_up: impl FnMut() -> bool,
) -> bool {
    let until = Instant::now() + limit;
    loop {
        if reached() {
            return true;
        }
        if give_up() || Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_names_the_call_and_the_errno() {
        let r: Result<(), userlib::Errno> = Err(userlib::Errno::ETIMEDOUT);
        let e = r.context(|| "MsgReceive on chid 1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "MsgReceive on chid 1 failed: ETIMEDOUT: Timed out"
        );
    }

    #[test]
    fn join_all_gives_up_on_threads_that_make_no_progress() {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let stuck = std::thread::spawn(move || -> Result<(), Failure> {
            let _ = rx.recv();
            Ok(())
        });
        let e = join_all(
            vec![("stuck".to_string(), stuck)],
            Duration::from_millis(50),
            || 0,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("nothing moved for 50ms; still waiting: stuck"),
            "{e}"
        );
    }

    #[test]
    fn join_all_reports_every_failure_first_named_first() {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let fails = |m: &'static str| std::thread::spawn(move || Err::<(), _>(Failure::new(m)));
        let stuck = std::thread::spawn(move || -> Result<(), Failure> {
            let _ = rx.recv();
            Ok(())
        });
        let e = join_all(
            vec![
                ("server".to_string(), fails("MsgReply failed")),
                ("client".to_string(), fails("MsgSend failed")),
                ("other".to_string(), stuck),
            ],
            Duration::from_secs(60),
            || 0,
        )
        .unwrap_err()
        .to_string();
        let (s, c) = (
            e.find("server: MsgReply").unwrap(),
            e.find("client: MsgSend").unwrap(),
        );
        assert!(s < c, "{e}");
        assert!(
            e.contains("still waiting after the failure above: other"),
            "{e}"
        );
    }
}
