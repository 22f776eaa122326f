//! A program's watch on its supervisor. The supervisor of a shared kernel reaps the programs
//! that die (through their pidfds) and takes the lock over from one that died holding it; if
//! the supervisor itself dies (killed: it ends by itself only when no program is left), no one
//! would, and a client REPLY-blocked on a server killed afterwards would wait for ever. So each
//! admitted program keeps a pidfd on its supervisor (handed to it with the kernel's memfd) and a
//! thread blocked in `poll` on it; when it becomes readable, the program turns into a program
//! of a kernel no supervisor watches (`reaps_dead`): its lock waits take over from a dead holder
//! and its timer service looks for dead programs every `REAP_SLICE`, as in a kernel in a plain
//! memory file. Every program of the kernel does so, each on its own; reaping is idempotent
//! under the lock, so several doing it at once tear each dead program down once.

use super::{Inner, Kernel};
use std::os::fd::{AsFd, OwnedFd};

impl Kernel {
    /// Watches the supervisor whose pidfd is `pidfd` (received at admission): when it dies,
    /// this program reaps the kernel's dead programs itself from then on
    /// ([`Kernel::supervisor_died`] says so). The watching thread sleeps in `poll` (no cost
    /// while the supervisor lives) and ends when the kernel is dropped. Errors: those of
    /// `pipe2` and of spawning a thread (the kernel is then unwatched, as before).
    pub fn watch_supervisor(&self, pidfd: OwnedFd) -> std::io::Result<()> {
        let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let weak = std::sync::Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name("qnx-sim-supwatch".into())
            .spawn(move || {
                crate::signals::mark_kernel_thread();
                // Signals aimed at the process go to the program's threads, not this one.
                crate::signals::block_in_this_thread();
                if wait_for_death(&pidfd, &read_end) {
                    if let Some(inner) = weak.upgrade() {
                        Kernel { inner }.take_over_from_supervisor();
                    }
                }
            })?;
        // (Kept after the spawn: a failed spawn leaves no watch to end.)
        let earlier = self
            .inner
            .supervisor_watch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(write_end);
        if let Some(earlier) = earlier {
            end(&earlier);
        }
        Ok(())
    }

    /// The supervisor died: from now on this program reaps the kernel's dead programs, and
    /// does so now for those that died before (or with) the supervisor, releases a lock a dead
    /// program holds (the supervisor's own, if it died in a reaping), and wakes any readied
    /// thread whose wake-up a dead program owed.
    fn take_over_from_supervisor(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.inner.supervisor_gone.store(true, SeqCst);
        self.inner.reaps_dead.store(true, SeqCst);
        tracing::warn!(
            target: "qnx_sim::supervisor",
            pid = crate::copy::my_pid(),
            "the kernel's supervisor died: this program reaps the kernel's dead programs itself"
        );
        if self.forked_away() {
            return;
        }
        // A thread of this program already waiting for the lock the ordinary way sleeps until
        // its holder releases it: this call takes it the watching way, taking over from a dead
        // holder, and its release wakes them.
        self.reap_dead_programs();
        self.wake_stranded();
        self.watch_for_dead_programs();
    }
}

/// Ends the watch whose pipe's write end is `write_end`: a byte written, which its thread
/// sees at once. Closing the write end alone would not do: a child forked since holds a copy
/// of it, and the pipe would not read as closed (the watch, its thread and its two
/// descriptors, staying as long as the child lives).
fn end(write_end: &OwnedFd) {
    let _ = nix::unistd::write(write_end, &[0]);
}

/// The kernel is being dropped (`Inner`'s drop): ends its watch on its supervisor, if it has
/// one, unless this is a forked child's copy of the kernel, whose watch (if any) is the
/// parent's thread, watching for the parent's kernel.
pub(super) fn end_watch(inner: &mut Inner) {
    if inner.fork_gen != crate::fork::generation() {
        return;
    }
    let watch = inner
        .supervisor_watch
        .get_mut()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(write_end) = watch.as_ref() {
        end(write_end);
    }
}

/// Sleeps until the supervisor's pidfd is readable (it died: true) or the pipe is (the kernel
/// was dropped, `end_watch`, or its end closed: false).
fn wait_for_death(pidfd: &OwnedFd, pipe: &OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        let mut fds = [
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(pipe.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return false,
        }
        let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
        if ready(&fds[1]) {
            return false;
        }
        if ready(&fds[0]) {
            return true;
        }
    }
}
