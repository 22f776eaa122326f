//! The futex and spin-then-futex ping-pongs' mailboxes between two processes: in a shared
//! file mapping, with process-shared futexes.

use super::super::baselines::SPIN_CHECK;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The two mailboxes of a futex ping-pong between processes, in a shared file mapping: the
/// mailbox to the server, then the one to the client, each a futex word on its own 128-byte
/// block and the message after it. The protocol is the baselines' (`Mailbox` there), with
/// process-shared futexes.
#[derive(Debug)]
pub(super) struct SharedMailboxes {
    base: std::ptr::NonNull<std::ffi::c_void>,
    len: usize,
    size: usize,
    spin: Option<Duration>,
}

const WORD_BLOCK: usize = 128;
const SLEEPING: u32 = 1;
pub(super) const TO_SERVER: usize = 0;
pub(super) const TO_CLIENT: usize = 1;

impl SharedMailboxes {
    fn box_len(size: usize) -> usize {
        WORD_BLOCK + size.div_ceil(WORD_BLOCK) * WORD_BLOCK
    }

    /// Maps the mailboxes' file at `path`, creating it first if `create`.
    pub(super) fn map(
        path: &Path,
        size: usize,
        spin: Option<Duration>,
        create: bool,
    ) -> SharedMailboxes {
        use std::os::fd::AsFd;
        use std::os::unix::fs::OpenOptionsExt;
        let len = 2 * SharedMailboxes::box_len(size);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(create)
            .mode(0o600)
            .open(path)
            .unwrap_or_else(|e| panic!("the mailboxes' file {}: {e}", path.display()));
        if create {
            // Zeros: both words at 0 posts, nobody sleeping.
            f.set_len(len as u64).expect("sizing the mailboxes' file");
        }
        // SAFETY: a new shared mapping of a file as long as `len`, at an address of the
        // kernel's choosing: it aliases no Rust object. Both processes touch it only through
        // the words' atomics and the ping-pong protocol. Unmapped only by Drop.
        let base = unsafe {
            nix::sys::mman::mmap(
                None,
                std::num::NonZeroUsize::new(len).expect("non-zero"),
                nix::sys::mman::ProtFlags::PROT_READ | nix::sys::mman::ProtFlags::PROT_WRITE,
                nix::sys::mman::MapFlags::MAP_SHARED,
                f.as_fd(),
                0,
            )
        }
        .expect("mmap of the mailboxes");
        SharedMailboxes {
            base,
            len,
            size,
            spin,
        }
    }

    fn box_at(&self, which: usize) -> *mut u8 {
        // SAFETY: `which` is 0 or 1: the offset stays inside the mapping.
        unsafe {
            self.base
                .as_ptr()
                .cast::<u8>()
                .add(which * SharedMailboxes::box_len(self.size))
        }
    }

    fn word(&self, which: usize) -> &AtomicU32 {
        // SAFETY: each box starts with an aligned u32, zero-initialised, that both processes
        // use only atomically; it lives as long as `self`.
        unsafe { &*(self.box_at(which) as *const AtomicU32) }
    }

    fn data(&self, which: usize) -> *mut u8 {
        // SAFETY: the message follows the word's block, inside the box.
        unsafe { self.box_at(which).add(WORD_BLOCK) }
    }

    /// Copies `msg` into box `which` and moves its word on: without spinning, bumps it and
    /// always wakes; with spinning, stores the next count with the sleeping bit clear and wakes
    /// only if the bit was set.
    pub(super) fn post(&self, which: usize, msg: &[u8]) {
        // SAFETY: by the ping-pong protocol the peer is not reading this box's message now.
        unsafe { std::ptr::copy_nonoverlapping(msg.as_ptr(), self.data(which), self.size) };
        let word = self.word(which);
        if self.spin.is_some() {
            let posts = (word.load(Ordering::Relaxed) >> 1).wrapping_add(1);
            if word.swap(posts << 1, Ordering::Release) & SLEEPING != 0 {
                crate::futex::wake_shared(word, 1);
            }
        } else {
            word.fetch_add(1, Ordering::Release);
            crate::futex::wake_shared(word, 1);
        }
    }

    /// Waits for box `which` to move past `seen` (spinning first if so made), copies its
    /// message out and returns the new count.
    pub(super) fn take(&self, which: usize, seen: u32, out: &mut [u8]) -> u32 {
        let word = self.word(which);
        let s = match self.spin {
            None => {
                let mut s = word.load(Ordering::Acquire);
                while s == seen {
                    crate::futex::wait_shared(word, seen);
                    s = word.load(Ordering::Acquire);
                }
                s
            }
            Some(budget) => spin_then_wait(word, seen, budget),
        };
        // SAFETY: the Acquire load saw the poster's Release update: its message is complete,
        // and it will not write again until this side answers.
        unsafe { std::ptr::copy_nonoverlapping(self.data(which), out.as_mut_ptr(), self.size) };
        s
    }
}

/// The spin-then-futex wait on a shared word `(posts << 1) | SLEEPING`: spins up to `budget`
/// (the clock read every [`SPIN_CHECK`] looks), then announces its sleep and waits.
fn spin_then_wait(word: &AtomicU32, seen: u32, budget: Duration) -> u32 {
    let start = Instant::now();
    loop {
        for _ in 0..SPIN_CHECK {
            let w = word.load(Ordering::Acquire);
            if w >> 1 != seen {
                return w >> 1;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= budget {
            break;
        }
    }
    loop {
        let w = word.load(Ordering::Acquire);
        if w >> 1 != seen {
            return w >> 1;
        }
        if w & SLEEPING == 0
            && word
                .compare_exchange(w, w | SLEEPING, Ordering::Acquire, Ordering::Acquire)
                .is_err()
        {
            continue;
        }
        crate::futex::wait_shared(word, w | SLEEPING);
    }
}

impl Drop for SharedMailboxes {
    fn drop(&mut self) {
        // SAFETY: the mapping `map` made, unmapped once; nothing borrows it beyond `self`.
        unsafe {
            let _ = nix::sys::mman::munmap(self.base, self.len);
        }
    }
}
