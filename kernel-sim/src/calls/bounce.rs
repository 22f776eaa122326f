//! Long messages between programs through the region, where Linux forbids the direct copy.
//!
//! Between two programs of a shared kernel a message, reply, MsgRead or MsgWrite longer than a
//! thread's window is copied straight between their buffers with `process_vm_readv`/`writev`
//! (copy.rs). Linux refuses those calls under Yama's `ptrace_scope` 2 or 3 and to a program
//! whose seccomp filter denies them; a kernel one of whose programs cannot make them
//! (`Header::long_copies`) moves such messages through blocks of the region's queue arena
//! instead, each side copying its own half within its own address space, so that no thread
//! ever touches another program's memory:
//!
//! * a client's MsgSend copies its message (when longer than the window, to a channel of
//!   another program) into a block of its own ([`stage_message`]); the server's MsgReceive and
//!   MsgRead copy from that block (a waiting receiver in another program is woken to take it
//!   itself), and the block lives until the client's exchange ends;
//! * what a thread of one program writes for a blocked client in another (a long reply, any
//!   MsgWrite) is appended to the client's list of writes ([`append`], [`reply`]): records of
//!   (offset, bytes) in blocks it owns; when its call ends it copies them, in order, into the
//!   reply buffers its call named ([`collect`]), then frees its blocks. A MsgWrite into reply
//!   buffers that are also the client's send buffers (one buffer for both, as QNX clients
//!   often pass) is written into the staged message too, so that a later MsgRead sees it, as
//!   on QNX.
//!
//! Two copies instead of one, and memory from the arena for the time of the exchange: a block
//! that cannot be had is EAGAIN for the call that needed it (the client's MsgSend; the
//! server's MsgReply, which then releases the client with EAGAIN too, or MsgWrite, which
//! leaves it REPLY-blocked). A reply first frees the client's staged message (the exchange
//! ends with it), so an echo needs the room of one copy, not two. A thread's blocks are tagged
//! with its slot ([`owner_of`]) in the arena's page table (logged in the undo record like the
//! asyncmsg blocks), and freed when its call ends, at its next call, or with its slot.

use super::asyncmsg::{alloc_pages, block_pages, free_block, free_blocks_of};
use crate::abi::errno::{Errno, KResult};
use crate::abi::types::Iov;
use crate::copy::{self, IovList};
use crate::region::{Tables, QUEUE_PAGE};

/// The bit a queue-arena page's owner has when the page is a thread's bounce block (below the
/// send buffers' bit, above any slot index).
const BOUNCE_OWNER: u32 = 1 << 30;

/// The owner a queue-arena page records for a bounce block of thread slot `slot`.
pub(crate) fn owner_of(slot: u32) -> u32 {
    BOUNCE_OWNER | slot
}

/// Whether a queue-arena page's `owner` is a thread's bounce block.
pub(crate) fn is_bounce(owner: u32) -> bool {
    owner & (super::asyncmsg::PROGRAM_OWNER | BOUNCE_OWNER) == BOUNCE_OWNER
}

/// Whether long messages between programs cross through the region in this kernel.
#[inline]
pub(crate) fn on(t: &Tables<'_>) -> bool {
    t.shared && t.long_copies.load(std::sync::atomic::Ordering::Relaxed) != 0
}

/// Makes long messages between programs cross through the region from now on (a copy
/// Linux refused showed it must: copy.rs, `take_refused`). One-way, and not undone with a call
/// that dies: the region path works wherever the direct one does.
pub(crate) fn switch_on(t: &Tables<'_>) {
    if t.shared {
        t.long_copies.store(1, std::sync::atomic::Ordering::Release);
    }
}

/// Bytes of a block's header: the next block of the list (first page plus one, 0: none) and
/// the bytes used, header included (two `u32`).
const BLOCK_HDR: usize = 8;
/// Bytes of a record's header: the offset in the destination and the length (two `u64`).
const REC_HDR: usize = 16;

/// The block of thread `slot` whose first page plus one is `tag`, as (address, bytes), if such
/// a block of the thread's exists (a tag read from the region is checked before use).
fn block_of(t: &Tables<'_>, slot: u32, tag: u32) -> Option<(*mut u8, usize)> {
    let first = (tag as usize).checked_sub(1)?;
    let pages = block_pages(t, first)?;
    if t.queue_pages[first].owner != owner_of(slot) {
        return None;
    }
    // SAFETY: the block's pages are in the arena (its page table says so).
    let at = unsafe { t.queue_arena.as_ptr().add(first * QUEUE_PAGE) };
    Some((at, pages * QUEUE_PAGE))
}

/// A new block of at least `bytes` for thread `slot`: its tag (first page plus one) and
/// address. EAGAIN when the arena has no run of free pages that long.
fn new_block(t: &mut Tables<'_>, slot: u32, bytes: usize) -> KResult<(u32, *mut u8)> {
    let need = bytes.div_ceil(QUEUE_PAGE);
    let off = alloc_pages(t, owner_of(slot), need).map_err(|_| Errno::EAGAIN)?;
    // SAFETY: `off` is the start of the block just given, inside the arena.
    let at = unsafe { t.queue_arena.as_ptr().add(off) };
    Ok(((off / QUEUE_PAGE) as u32 + 1, at))
}

/// Bytes before the message in a staged block: the count of overlaps between the client's
/// send and reply buffers (a `u64`), then `MAX_OVERLAPS` of them (three `u64` each: the reply
/// offset, the send offset, the length).
const STAGE_HDR: usize = 8 + MAX_OVERLAPS * 24;
/// The most overlaps between a client's send and reply buffers recorded (one buffer passed as
/// both is one); a client whose iov lists overlap in more places (hundreds of parts each)
/// has the rest unrecorded: a MsgRead after a MsgWrite there reads the message as sent.
const MAX_OVERLAPS: usize = 8;

/// Client `i`, in its MsgSend, copies its message (`smsg`, `slen` bytes, its own validated
/// list) into a block of its own, which the server's MsgReceive and MsgRead read, and records
/// where its reply buffers (`rmsg`, its own validated list) are its send buffers too. EAGAIN
/// when no block can be had.
pub(crate) fn stage_message(
    t: &mut Tables<'_>,
    i: u32,
    smsg: IovList,
    rmsg: IovList,
    slen: u64,
) -> KResult<()> {
    drop_message(t, i);
    let len = usize::try_from(slen).map_err(|_| Errno::EAGAIN)?;
    let (tag, at) = new_block(t, i, STAGE_HDR.saturating_add(len))?;
    let overlaps = copy::overlaps(smsg, rmsg, MAX_OVERLAPS);
    // SAFETY: the block is ours alone and at least STAGE_HDR bytes long.
    unsafe {
        (at as *mut u64).write_unaligned(overlaps.len() as u64);
        for (k, &(r_off, s_off, n)) in overlaps.iter().enumerate() {
            let o = at.add(8 + k * 24);
            (o as *mut u64).write_unaligned(r_off);
            (o.add(8) as *mut u64).write_unaligned(s_off);
            (o.add(16) as *mut u64).write_unaligned(n);
        }
    }
    let dst = [Iov {
        // SAFETY: inside the block (STAGE_HDR + len bytes at least).
        base: unsafe { at.add(STAGE_HDR) } as u64,
        len: slen,
    }];
    // SAFETY: our own list (we are in our MsgSend call, it was validated) into a block of the
    // arena that is ours alone.
    let _ = unsafe { copy::copy(smsg, 0, IovList::new(&dst), 0, slen) };
    // Fault injection (kernel/entry.rs, `mid-copy`): the block taken and filled, not yet ours
    // in the thread's record: a program killed here has the page table's change undone.
    crate::Kernel::fault_point(crate::Kernel::FAULT_MID_COPY);
    t.threads.at_mut(i).bounce.msg = tag;
    Ok(())
}

/// Client `i`'s message staged by [`stage_message`], `slen` bytes, as an iov in this mapping.
pub(crate) fn message(t: &Tables<'_>, i: u32, slen: u64) -> Option<Iov> {
    let (at, bytes) = block_of(t, i, t.threads.at(i).bounce.msg)?;
    (slen <= bytes.saturating_sub(STAGE_HDR) as u64).then_some(Iov {
        // SAFETY: inside the block (checked just above).
        base: unsafe { at.add(STAGE_HDR) } as u64,
        len: slen,
    })
}

/// Where client `i`'s reply buffers are its send buffers too, as its MsgSend recorded:
/// (reply offset, send offset, length) runs.
fn overlaps_of(t: &Tables<'_>, i: u32) -> Vec<(u64, u64, u64)> {
    let Some((at, bytes)) = block_of(t, i, t.threads.at(i).bounce.msg) else {
        return Vec::new();
    };
    if bytes < STAGE_HDR {
        return Vec::new();
    }
    // SAFETY: the header lies inside the block (checked); a count another program scribbled
    // is bounded by MAX_OVERLAPS.
    unsafe {
        let n = ((at as *const u64).read_unaligned() as usize).min(MAX_OVERLAPS);
        (0..n)
            .map(|k| {
                let o = at.add(8 + k * 24);
                (
                    (o as *const u64).read_unaligned(),
                    (o.add(8) as *const u64).read_unaligned(),
                    (o.add(16) as *const u64).read_unaligned(),
                )
            })
            .collect()
    }
}

/// Frees client `i`'s staged message, if any.
fn drop_message(t: &mut Tables<'_>, i: u32) {
    let tag = t.threads.at(i).bounce.msg;
    if tag != 0 {
        if block_of(t, i, tag).is_some() {
            free_block(t, tag as usize - 1);
        }
        t.threads.at_mut(i).bounce.msg = 0;
    }
}

/// A MsgWrite of `n` bytes of `src` (the server's own validated list) at byte `off` of
/// REPLY-blocked client `i`'s reply buffers (`riov`, `rparts`): recorded for the client, and
/// written into its staged message where its reply buffers are its send buffers too. EAGAIN
/// (nothing written) when no block can be had.
pub(crate) fn write(
    t: &mut Tables<'_>,
    i: u32,
    riov: (u64, u32),
    off: u64,
    src: IovList,
    n: u64,
) -> KResult<()> {
    append(t, i, riov, off, src, n)?;
    let slen = t.threads.at(i).send.slen;
    let Some(m) = message(t, i, slen) else {
        return Ok(());
    };
    let msg = [m];
    for (r_off, s_off, len) in overlaps_of(t, i) {
        // The part of [off, off + n) that falls in [r_off, r_off + len).
        let from = off.max(r_off);
        let to = off.saturating_add(n).min(r_off.saturating_add(len));
        if from < to && s_off.saturating_add(from - r_off) < slen {
            // SAFETY: the server's own list (validated, in its call) into the client's staged
            // block (the copy stops at the message's end).
            let _ = unsafe {
                copy::copy(
                    src,
                    from - off,
                    IovList::new(&msg),
                    s_off + (from - r_off),
                    to - from,
                )
            };
        }
    }
    Ok(())
}

/// A long reply of `n` bytes of `smsg` (the server's own validated list) for REPLY-blocked
/// client `i`, whose reply buffers are `riov`: its staged message is freed first (the
/// exchange ends with the reply), then the reply is recorded. EAGAIN when no block can be had.
pub(crate) fn reply(
    t: &mut Tables<'_>,
    i: u32,
    riov: (u64, u32),
    smsg: IovList,
    n: u64,
) -> KResult<()> {
    drop_message(t, i);
    append(t, i, riov, 0, smsg, n)
}

/// Records, for REPLY-blocked client `i` of another program, `n` bytes of `src` (the
/// caller's own validated list) to be written at byte `off` of its reply buffers (`iov`,
/// `parts`: the list its MsgSend named, in its memory); it writes them as its call ends.
/// EAGAIN (nothing recorded) when no block can be had.
fn append(
    t: &mut Tables<'_>,
    i: u32,
    (iov, parts): (u64, u32),
    off: u64,
    src: IovList,
    n: u64,
) -> KResult<()> {
    if n == 0 {
        return Ok(());
    }
    let len = usize::try_from(n).map_err(|_| Errno::EAGAIN)?;
    let rec = REC_HDR + len.next_multiple_of(8);
    if BLOCK_HDR + rec > u32::MAX as usize {
        // (A block's count of bytes used is a u32: one write of 4 GiB or more has no block.)
        return Err(Errno::EAGAIN);
    }
    let b = t.threads.at(i).bounce;
    // Into the last block if the record fits there, else into a new one.
    let tail = block_of(t, i, b.tail).and_then(|(at, bytes)| {
        // SAFETY: the block's header is its first 8 bytes, in the arena.
        let used = unsafe { (at.add(4) as *const u32).read_unaligned() } as usize;
        (used >= BLOCK_HDR
            && used <= bytes
            && bytes - used >= rec
            && used + rec <= u32::MAX as usize)
            .then_some((at, used))
    });
    let (at, used) = match tail {
        Some(found) => found,
        None => {
            let (tag, at) = new_block(t, i, BLOCK_HDR + rec)?;
            // SAFETY: a new block of ours, at least BLOCK_HDR bytes long.
            unsafe {
                (at as *mut u32).write_unaligned(0);
                (at.add(4) as *mut u32).write_unaligned(BLOCK_HDR as u32);
            }
            if let Some((prev, _)) = block_of(t, i, b.tail) {
                // SAFETY: the previous last block's header, in the arena.
                unsafe { (prev as *mut u32).write_unaligned(tag) };
            }
            let th = t.threads.at_mut(i);
            if th.bounce.head == 0 {
                th.bounce.head = tag;
                th.bounce.iov = iov;
                th.bounce.parts = parts;
            }
            th.bounce.tail = tag;
            (at, BLOCK_HDR)
        }
    };
    // SAFETY: `at + used .. at + used + rec` lies inside the block (checked above, or a new
    // block of at least BLOCK_HDR + rec bytes); the source is the caller's own validated list
    // or a region block, read by the caller in its call.
    unsafe {
        let r = at.add(used);
        (r as *mut u64).write_unaligned(off);
        (r.add(8) as *mut u64).write_unaligned(n);
        let dst = [Iov {
            base: r.add(REC_HDR) as u64,
            len: n,
        }];
        let _ = copy::copy(src, 0, IovList::new(&dst), 0, n);
        // Fault injection (`mid-copy`): the record written, the block's count not yet moved.
        crate::Kernel::fault_point(crate::Kernel::FAULT_MID_COPY);
        (at.add(4) as *mut u32).write_unaligned((used + rec) as u32);
    }
    Ok(())
}

/// Thread `i` (the caller, its call ending) writes what threads of other programs recorded
/// for it ([`append`]) into its own buffers, in the order they were recorded, and frees every
/// block it holds.
pub(crate) fn collect(t: &mut Tables<'_>, i: u32) {
    let b = t.threads.at(i).bounce;
    let dst = IovList::at(b.iov, b.parts, copy::Space::LOCAL);
    let mut tag = b.head;
    // At most as many blocks as the arena has pages (a broken list ends the walk).
    for _ in 0..t.queue_pages.len() {
        let Some((at, bytes)) = block_of(t, i, tag) else {
            break;
        };
        // SAFETY: the block's header, in the arena.
        let (next, used) = unsafe {
            (
                (at as *const u32).read_unaligned(),
                ((at.add(4) as *const u32).read_unaligned() as usize).min(bytes),
            )
        };
        let mut pos = BLOCK_HDR;
        while pos + REC_HDR <= used {
            // SAFETY: the record's header lies inside the block's used bytes.
            let (off, n) = unsafe {
                let r = at.add(pos);
                (
                    (r as *const u64).read_unaligned(),
                    (r.add(8) as *const u64).read_unaligned(),
                )
            };
            let room = (used - pos - REC_HDR) as u64;
            let n = n.min(room);
            let src = [Iov {
                // SAFETY: inside the block (n is at most what is left of its used bytes).
                base: unsafe { at.add(pos + REC_HDR) } as u64,
                len: n,
            }];
            // SAFETY: a region block into our own buffers, which our call named and still
            // borrows (we are collecting its result); validated when the call was made.
            let _ = unsafe { copy::copy(IovList::new(&src), 0, dst, off, n) };
            pos += REC_HDR + (n as usize).next_multiple_of(8);
        }
        tag = next;
    }
    free_all(t, i);
}

/// Frees thread `i`'s blocks (its staged message and its list of writes) and forgets them:
/// its call has ended. The list is walked from its head, each block checked to be the
/// thread's (a list another program broke ends the walk: [`free_slot`] sweeps the rest when
/// the slot goes).
pub(crate) fn free_all(t: &mut Tables<'_>, i: u32) {
    drop_message(t, i);
    let mut tag = t.threads.at(i).bounce.head;
    for _ in 0..t.queue_pages.len() {
        let Some((at, _)) = block_of(t, i, tag) else {
            break;
        };
        // SAFETY: the block's header, in the arena.
        let next = unsafe { (at as *const u32).read_unaligned() };
        free_block(t, tag as usize - 1);
        tag = next;
    }
    t.threads.at_mut(i).bounce = crate::objects::thread::Bounce::EMPTY;
}

/// Frees every block of thread slot `i`, whatever its records say (the slot is being freed).
pub(crate) fn free_slot(t: &mut Tables<'_>, i: u32) {
    free_all(t, i);
    free_blocks_of(t, owner_of(i));
}
