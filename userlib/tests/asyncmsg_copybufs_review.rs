//! Review of b03a6bf (a connection's copies of long messages in its program's send buffers
//! named by plain words, `CopyBufs` in heap.rs, kept in `Slots::copies`, conn.rs): what the
//! review found, fixed since. A message longer than 64 KiB (flat or gathered) is still copied
//! into the region, in a block of its own, and taken without `process_vm_readv`; attaching and
//! detaching connections keeps nothing per connection in the heap.
//!
//! Every blocking call is bounded (TimerTimeout through the support helpers, `*_timeout`
//! calls, bounded joins and waits), and every shared kernel lives in a temporary directory
//! removed on every exit path.
#![cfg(not(loom))]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;

// ------------------------------------------------------------------ a counting allocator

/// The system allocator, counting the bytes live in this test program (finding 2 measures
/// what one call frees).
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments; the counter is a
// plain atomic and allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(p, l) };
        LIVE_BYTES.fetch_sub(l.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            LIVE_BYTES.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ------------------------------------------------------------------ helpers

/// The calling program's (buffers in use, pages held) on the calling thread's kernel, or
/// (0, 0) if it has no send buffers there.
fn usage() -> (usize, usize) {
    asyncmsg_shared_usage()
        .expect("asyncmsg_shared_usage")
        .unwrap_or((0, 0))
}

// ------------------------------------------------------------------ finding 1

/// Finding 1: a long message over 64 KiB (`CHUNK`) is no longer copied to the program's send
/// buffers in the region: `CopyBufs::copy_in` (heap.rs) returns None for `len > CHUNK`, where
/// the `SpareBufs::copy_of` it replaced gave such a copy a block of its own (`heap.alloc`), as
/// design.md and deviations.md still say (only a message over the largest buffer, a quarter of
/// the program's budget, stays in the sender's memory). The receiver's kernel then reads it
/// with `process_vm_readv` (a system call, and EFAULT where Linux refuses that read between
/// the two programs). Passes on 8040fe8; fails on b03a6bf.
#[test]
fn a_message_over_64_kib_is_copied_to_the_region_and_taken_without_process_vm_readv() {
    // Budget: 256 pages (1 MiB); the largest buffer 256 KiB: room for both copies below.
    let sk = shared_kernel(1024);
    let recv = process(&sk.k);
    let send = process(&sk.k);
    let _b = bind(&send);
    const FLAT: usize = 100_000;
    const GATHERED: usize = 90_000;
    const BUFSZ: usize = 128 * 1024;

    let (tx_chid, rx_chid) = mpsc::channel();
    let (tx_go, rx_go) = mpsc::channel::<()>();
    let receiver = recv
        .spawn(move || {
            let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 4, None, None).expect("channel");
            tx_chid.send(chid).expect("send chid");
            rx_go.recv_timeout(DEADLINE).expect("go");
            let before = userlib::vm_calls_in_this_thread();
            let (got, _) = take(chid, 2);
            let vm = userlib::vm_calls_in_this_thread() - before;
            asyncmsg_channel_destroy(chid).expect("destroy");
            (got, vm)
        })
        .expect("spawn the receiver");
    let chid = rx_chid.recv_timeout(DEADLINE).expect("the receiver's chid");
    let coid = connect(recv.pid(), chid, 0, &attr(8, Duration::ZERO, 8));
    put(coid, long_message(0, FLAT), 0);
    let g = long_message(1, GATHERED);
    let (x, rest) = g.split_at(GATHERED / 3);
    let (y, z) = rest.split_at(rest.len() / 2);
    asyncmsg_putv(coid, vec![x.to_vec(), y.to_vec(), z.to_vec()], 1, None)
        .unwrap_or_else(|e| panic!("asyncmsg_putv: {:?}", e.errno));
    let queued = usage();
    tx_go.send(()).expect("go");
    asyncmsg_flush_timeout(coid, LONG).expect("asyncmsg_flush_timeout");
    let (got, vm_calls) = join(receiver);
    asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");

    assert_eq!(got.len(), 2);
    assert!(
        got[0].err == 0 && got[0].data == long_message(0, FLAT),
        "flat"
    );
    assert!(got[1].err == 0 && got[1].data == g, "gathered");
    assert_eq!(
        queued,
        (2, FLAT.div_ceil(4096) + GATHERED.div_ceil(4096)),
        "while queued, each message over 64 KiB has a copy of its own pages in the region"
    );
    assert_eq!(
        vm_calls, 0,
        "both messages were taken from the region, without process_vm_readv"
    );
}

// ------------------------------------------------------------------ finding 2

/// Finding 2: every connection whose queue is in the region registers its spare count with
/// its program's heap (`CopyBufs::new` pushes a `Weak` onto `HeapState::spares`, heap.rs), and
/// only `SharedHeap::usage` (`asyncmsg_shared_usage`) ever prunes the dead ones. A program that
/// attaches and detaches connections while its heap lives (a buffer or another connection
/// keeps it) and never asks for its usage keeps one `Weak` (8 bytes) and the allocation it
/// keeps alive (the `ArcInner<AtomicUsize>`, 24 bytes) per connection it ever had: memory
/// that grows without bound. Here `asyncmsg_shared_usage`, a read-only query, frees about
/// 24 bytes for each of the connections attached and detached before it.
#[test]
fn attaching_and_detaching_connections_retains_nothing_per_connection() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    // The heap lives while this buffer does, as in a program that keeps one.
    let keep = asyncmsg_malloc_shared(1000).expect("a shared buffer");
    let chid = asyncmsg_channel_create(0, 0o600, 1024, 16, None, None).expect("channel");
    let _ = usage(); // (Prunes whatever was registered so far.)
    const N: isize = 4000;
    for _ in 0..N {
        let coid = connect(0, chid, 0, &attr(8, Duration::ZERO, 8));
        asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
    }
    let before = LIVE_BYTES.load(Ordering::SeqCst);
    let _ = usage();
    let after = LIVE_BYTES.load(Ordering::SeqCst);
    let freed = before - after;
    asyncmsg_channel_destroy(chid).expect("asyncmsg_channel_destroy");
    drop(keep);
    assert!(
        freed < N * 4,
        "asyncmsg_shared_usage freed {freed} bytes ({} per connection attached and detached \
         before it): the heap kept something of each connection long gone",
        freed / N
    );
}
