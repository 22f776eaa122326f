//! asyncmsg send buffers (`asyncmsg_malloc_shared`, `asyncmsg_put_shared`, and the copies a put
//! makes of long messages), inside one test program: in a kernel of one program they are plain
//! local buffers; in a kernel shared by programs (`Kernel::create_shared` in a temporary
//! directory, removed on every exit path) they lie in the region's queue arena, owned by the
//! calling program (whichever of its simulated processes asks), cut from 64 KiB chunks into
//! power-of-two classes or, over 64 KiB, given pages of their own, within a budget of a quarter
//! of `async_queue_pages`.
//!
//! Every blocking call is bounded (TimerTimeout through the support helpers, `*_timeout`
//! calls, bounded joins and waits).
#![cfg(not(loom))]

mod support;

use std::sync::mpsc;
use std::time::Duration;
use support::asyncmsg::*;
use support::*;
use userlib::asyncmsg::*;
use userlib::{Errno, Process};

const PAGE: usize = 4096;

/// Fills all of `b` (up to its capacity) with words that name buffer `id` and their position.
fn fill(b: &mut SharedBuf, id: u32) {
    b.set_len(b.capacity()).expect("set_len to the capacity");
    for (w, chunk) in b.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&((u64::from(id) << 32) | w as u64).to_le_bytes());
    }
}

/// Whether `b` still holds what [`fill`] wrote for `id`.
fn holds(b: &SharedBuf, id: u32) -> bool {
    b.len() == b.capacity()
        && b.chunks_exact(8)
            .enumerate()
            .all(|(w, chunk)| chunk == ((u64::from(id) << 32) | w as u64).to_le_bytes())
}

/// The calling process's (buffers live, pages held), failing if it has no heap.
fn usage() -> (usize, usize) {
    asyncmsg_shared_usage()
        .expect("asyncmsg_shared_usage")
        .expect("the process has send buffers")
}

/// An asyncmsg channel and a connection to it from the calling thread's own process (pid 0):
/// in a shared kernel the connection's queue is in the region, and the connection holds the
/// process's heap (so that it lives with no buffer out).
fn own_channel_and_connection(bufsz: usize, a: &AsyncConnAttr) -> (i32, i32) {
    let chid = asyncmsg_channel_create(0, 0o600, bufsz, 16, None, None).expect("channel");
    (chid, connect(0, chid, 0, a))
}

fn close(chid: i32, coid: i32) {
    asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
    asyncmsg_channel_destroy(chid).expect("asyncmsg_channel_destroy");
}

// ------------------------------------------------------------------ a kernel of one program

#[test]
fn in_a_kernel_of_one_program_a_shared_buffer_is_local_and_put_shared_hands_it_back() {
    let k = kernel();
    assert!(!k.is_shared());
    let p = process(&k);
    let _b = bind(&p);
    assert_eq!(
        asyncmsg_shared_usage(),
        Ok(None),
        "no heap in such a kernel"
    );

    let mut b = asyncmsg_malloc_shared(300).expect("asyncmsg_malloc_shared");
    assert!(
        !b.in_region(),
        "a kernel of one program has no region buffers"
    );
    assert_eq!((b.len(), b.capacity()), (300, 300));
    assert_eq!(b.set_len(301), Err(Errno::EINVAL));
    assert_eq!(b.len(), 300);
    let m = long_message(7, 300);
    b.copy_from_slice(&m);
    assert_eq!(asyncmsg_shared_usage(), Ok(None));

    let rec = Recorder::default();
    let a = AsyncConnAttr {
        call_back: Some(rec.callback()),
        ..attr(1, Duration::ZERO, 8)
    };
    let (chid, coid) = own_channel_and_connection(1024, &a);
    asyncmsg_put_shared(coid, b, 7, None).expect("asyncmsg_put_shared");
    let (got, _) = take(chid, 1);
    assert_eq!((got[0].err, &got[0].data), (0, &m));
    let calls = rec.wait(1);
    assert_eq!(Recorder::pairs(&calls), [(0, 7)]);
    let back = match calls.into_iter().next().map(|c| c.buf) {
        Some(AsyncBuf::Shared(b)) => b,
        other => panic!("the callback did not hand back the shared buffer: {other:?}"),
    };
    assert!(!back.in_region());
    assert_eq!(&back[..], &m[..]);
    // A local buffer has no raw form: into_raw gives it back.
    let back = back
        .into_raw()
        .expect_err("a local buffer has no raw pointer");
    assert_eq!(&back[..], &m[..]);
    close(chid, coid);
}

// ------------------------------------------------------------------ a shared kernel's heap

#[test]
fn shared_buffers_lie_in_the_region_in_their_size_class_and_never_overlap() {
    // Budget: 128 pages (8 chunks); the largest buffer 128 KiB.
    let sk = shared_kernel(512);
    let p = process(&sk.k);
    let _b = bind(&p);
    let before = sk.k.async_queue_pages_in_use();
    // (size, count, capacity): five classes (a chunk each) and one buffer of its own pages.
    let plan: [(usize, usize, usize); 6] = [
        (100, 100, 256),
        (300, 50, 512),
        (1000, 30, 1024),
        (3000, 10, 4096),
        (9000, 4, 16384),
        (70_000, 1, 18 * PAGE),
    ];
    let mut bufs = Vec::new();
    for &(size, count, cap) in &plan {
        for _ in 0..count {
            let b = asyncmsg_malloc_shared(size)
                .unwrap_or_else(|e| panic!("asyncmsg_malloc_shared({size}): {e:?}"));
            assert!(b.in_region(), "a shared kernel's buffer is in its region");
            assert_eq!((b.len(), b.capacity()), (size, cap), "buffer of {size}");
            bufs.push(b);
        }
    }
    let live: usize = plan.iter().map(|p| p.1).sum();
    let pages = 5 * 16 + 18;
    assert_eq!(usage(), (live, pages));
    assert_eq!(sk.k.async_queue_pages_in_use(), before + pages as u32);

    for (id, b) in bufs.iter_mut().enumerate() {
        fill(b, id as u32);
    }
    // No two buffers share a byte: by their addresses, and by what each still holds.
    let mut ranges: Vec<(usize, usize)> = bufs
        .iter()
        .map(|b| (b.as_ptr() as usize, b.capacity()))
        .collect();
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0, "buffers overlap: {w:?}");
    }
    for (id, b) in bufs.iter().enumerate() {
        assert!(
            holds(b, id as u32),
            "buffer {id} was overwritten by another"
        );
    }
    drop(bufs);
}

#[test]
fn freed_shared_buffers_are_reused_and_their_chunk_stays_held() {
    // Budget: 16 pages, one chunk.
    let sk = shared_kernel(64);
    let p = process(&sk.k);
    let _b = bind(&p);
    // The connection holds the heap, so it lives with no buffer out.
    let (chid, coid) = own_channel_and_connection(1024, &attr(1, Duration::ZERO, 8));
    assert_eq!(usage(), (0, 0));
    let a = asyncmsg_malloc_shared(1000).expect("a buffer");
    let first = a.as_ptr();
    assert_eq!(usage(), (1, 16));
    let in_use = sk.k.async_queue_pages_in_use();
    drop(a);
    assert_eq!(usage(), (0, 16), "freed, the chunk stays held");
    // The same class: the freed buffer again, no new pages.
    let b = asyncmsg_malloc_shared(600).expect("a buffer");
    assert_eq!(b.as_ptr(), first, "the freed buffer is reused");
    assert_eq!(usage(), (1, 16));
    drop(b);
    // The whole chunk (64 buffers of 1 KiB), twice over: the second time from the free list.
    for round in 0..2 {
        let all: Vec<SharedBuf> = (0..64)
            .map(|i| {
                asyncmsg_malloc_shared(1024)
                    .unwrap_or_else(|e| panic!("round {round}, buffer {i}: {e:?}"))
            })
            .collect();
        assert_eq!(usage(), (64, 16), "round {round}");
        assert_eq!(sk.k.async_queue_pages_in_use(), in_use, "round {round}");
        drop(all);
        assert_eq!(usage(), (0, 16), "round {round}");
    }
    close(chid, coid);
}

#[test]
fn set_len_beyond_the_capacity_is_einval() {
    let sk = shared_kernel(64);
    let p = process(&sk.k);
    let _b = bind(&p);
    let mut b = asyncmsg_malloc_shared(300).expect("a buffer");
    assert_eq!((b.len(), b.capacity()), (300, 512));
    assert_eq!(b.set_len(512), Ok(()));
    assert_eq!(b.len(), 512);
    assert_eq!(b.set_len(513), Err(Errno::EINVAL));
    assert_eq!(b.len(), 512, "a refused set_len leaves the length");
    assert_eq!(b.set_len(usize::MAX), Err(Errno::EINVAL));
    assert_eq!(b.set_len(0), Ok(()));
    assert!(b.is_empty());
}

#[test]
fn a_buffer_over_the_largest_or_beyond_the_budget_is_enomem() {
    // Budget: 16 pages (one 64 KiB chunk); the largest buffer a quarter of it, 16 KiB.
    let sk = shared_kernel(64);
    let p = process(&sk.k);
    let _b = bind(&p);
    let largest = 16 * PAGE / 4;
    assert_eq!(
        asyncmsg_malloc_shared(largest + 1).map(drop),
        Err(Errno::ENOMEM),
        "over the largest buffer, with the heap empty"
    );
    assert_eq!(
        asyncmsg_malloc_shared(1 << 20).map(drop),
        Err(Errno::ENOMEM)
    );
    // Four of the largest fill the one chunk the budget allows.
    let held: Vec<SharedBuf> = (0..4)
        .map(|i| asyncmsg_malloc_shared(largest).unwrap_or_else(|e| panic!("{i}: {e:?}")))
        .collect();
    assert!(held.iter().all(|b| b.capacity() == largest));
    assert_eq!(usage(), (4, 16));
    let in_use = sk.k.async_queue_pages_in_use();
    assert_eq!(
        asyncmsg_malloc_shared(largest).map(drop),
        Err(Errno::ENOMEM),
        "a fifth: its class's chunk is full and the budget spent"
    );
    for size in [1, 256, 1000, 4096] {
        assert_eq!(
            asyncmsg_malloc_shared(size).map(drop),
            Err(Errno::ENOMEM),
            "{size} bytes of another class: no chunk left in the budget"
        );
    }
    assert_eq!(usage(), (4, 16), "failed allocations hold nothing");
    assert_eq!(sk.k.async_queue_pages_in_use(), in_use);
    drop(held);
}

#[test]
fn a_buffer_over_64_kib_takes_its_own_pages_and_gives_them_back_when_dropped() {
    // Budget: 256 pages; the largest buffer 256 KiB.
    let sk = shared_kernel(1024);
    let p = process(&sk.k);
    let _b = bind(&p);
    // A small buffer keeps the heap (and its chunk) alive throughout.
    let keep = asyncmsg_malloc_shared(100).expect("a small buffer");
    assert_eq!(usage(), (1, 16));
    let before = sk.k.async_queue_pages_in_use();

    let mut big = asyncmsg_malloc_shared(100_000).expect("a large buffer");
    assert!(big.in_region());
    assert_eq!((big.len(), big.capacity()), (100_000, 25 * PAGE));
    assert_eq!(usage(), (2, 16 + 25));
    assert_eq!(sk.k.async_queue_pages_in_use(), before + 25);
    fill(&mut big, 1);
    // The largest buffer the budget allows, a block of its own as well.
    let mut max = asyncmsg_malloc_shared(256 * 1024).expect("the largest buffer");
    assert_eq!(max.capacity(), 256 * 1024);
    assert_eq!(usage(), (3, 16 + 25 + 64));
    assert_eq!(sk.k.async_queue_pages_in_use(), before + 25 + 64);
    fill(&mut max, 2);
    assert!(holds(&big, 1) && holds(&max, 2));

    drop(big);
    assert_eq!(usage(), (2, 16 + 64));
    assert_eq!(
        sk.k.async_queue_pages_in_use(),
        before + 64,
        "a dropped large buffer's pages go back to the kernel"
    );
    drop(max);
    assert_eq!(usage(), (1, 16));
    assert_eq!(sk.k.async_queue_pages_in_use(), before);
    drop(keep);
}

#[test]
fn a_heap_nothing_uses_any_more_gives_its_pages_back_to_the_kernel() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    let before = sk.k.async_queue_pages_in_use();
    let a = asyncmsg_malloc_shared(1000).expect("a buffer");
    assert_eq!(sk.k.async_queue_pages_in_use(), before + 16);
    drop(a);
    assert_eq!(sk.k.async_queue_pages_in_use(), before);
    assert_eq!(asyncmsg_shared_usage(), Ok(None), "the heap is gone");
}

// ------------------------------------------------------------------ puts in a shared kernel

/// The lengths of [`put_and_take`]'s messages: short ones (in their slot's inline area) and
/// long ones, over several size classes.
const LENS: [usize; 10] = [100, 128, 129, 200, 256, 257, 1000, 4096, 4097, 20_000];

/// The receiver's channel: buffers of this many bytes.
const BUFSZ: usize = 32 * 1024;

/// The inline area of a queue slot in the region: longer messages are copied to the heap.
const INLINE: usize = 128;

/// What [`put_and_take`] saw.
struct Seen {
    /// (buffers live, pages held) with every message put and none taken yet.
    queued: (usize, usize),
    /// The same after the flush and the callbacks.
    after: (usize, usize),
    /// `process_vm_readv` calls the receiver's gets made.
    vm_calls: u64,
}

/// Puts `n` messages (`LENS` in turn, every third gathered in three parts) from the calling
/// thread's process to a receiver process `recv` of the same kernel, which takes them only
/// once all are put; checks they arrive intact and in order and that every callback hands its
/// message back with 0, in order.
fn put_and_take(recv: &Process, n: u32) -> Seen {
    let (tx_chid, rx_chid) = mpsc::channel();
    let (tx_go, rx_go) = mpsc::channel::<()>();
    let (tx_done, rx_done) = mpsc::channel::<()>();
    let receiver = recv
        .spawn(move || {
            let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
            tx_chid.send(chid).expect("send chid");
            rx_go.recv_timeout(DEADLINE).expect("go");
            let before = userlib::vm_calls_in_this_thread();
            let (got, _) = take(chid, n as usize);
            let vm = userlib::vm_calls_in_this_thread() - before;
            // (The channel stays until the sender saw its callbacks.)
            let _ = rx_done.recv_timeout(DEADLINE);
            asyncmsg_channel_destroy(chid).expect("destroy");
            (got, vm)
        })
        .expect("spawn the receiver");
    let chid = rx_chid.recv_timeout(DEADLINE).expect("the receiver's chid");
    let rec = Recorder::default();
    let a = AsyncConnAttr {
        call_back: Some(rec.callback()),
        ..attr(8, Duration::ZERO, 64)
    };
    let coid = connect(recv.pid(), chid, 0, &a);
    for seq in 0..n {
        let m = long_message(seq, LENS[seq as usize % LENS.len()]);
        if seq % 3 == 2 {
            let (x, rest) = m.split_at(m.len() / 3);
            let (y, z) = rest.split_at(rest.len() / 2);
            asyncmsg_putv(coid, vec![x.to_vec(), y.to_vec(), z.to_vec()], seq, None)
                .unwrap_or_else(|e| panic!("asyncmsg_putv {seq}: {:?}", e.errno));
        } else {
            put(coid, m, seq);
        }
    }
    let queued = usage();
    tx_go.send(()).expect("go");
    asyncmsg_flush_timeout(coid, LONG).expect("asyncmsg_flush_timeout");
    let calls = rec.wait(n as usize);
    let after = usage();
    tx_done.send(()).expect("done");
    let (got, vm_calls) = join(receiver);

    assert_eq!(got.len(), n as usize);
    for (seq, g) in got.iter().enumerate() {
        let want = long_message(seq as u32, LENS[seq % LENS.len()]);
        assert_eq!(g.err, 0, "message {seq}");
        assert!(
            g.data == want,
            "message {seq} arrived garbled or out of order"
        );
    }
    assert_eq!(
        Recorder::pairs(&calls),
        (0..n).map(|s| (0, s)).collect::<Vec<_>>(),
        "every callback, with 0, in order"
    );
    for c in calls {
        let want = long_message(c.handle, LENS[c.handle as usize % LENS.len()]);
        match &c.buf {
            AsyncBuf::Parts(_) => assert_eq!(c.handle % 3, 2, "only gathered puts give parts"),
            AsyncBuf::Flat(_) => assert_ne!(c.handle % 3, 2, "gathered puts give parts"),
            AsyncBuf::Shared(_) => panic!("no shared buffer was put"),
        }
        assert!(
            c.buf.into_vec() == want,
            "callback {} handed back another buffer",
            c.handle
        );
    }
    asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
    Seen {
        queued,
        after,
        vm_calls,
    }
}

#[test]
fn long_messages_put_in_a_shared_kernel_are_copied_to_the_heap_delivered_intact_and_freed() {
    // Budget: 256 pages (16 chunks): room for a copy of every message at once.
    let sk = shared_kernel(1024);
    let recv = process(&sk.k);
    let send = process(&sk.k);
    let _b = bind(&send);
    const N: u32 = 50;
    let long = (0..N)
        .filter(|&s| LENS[s as usize % LENS.len()] > INLINE)
        .count();
    let seen = put_and_take(&recv, N);
    assert_eq!(
        seen.queued.0, long,
        "a copy in the heap of each message over {INLINE} bytes, while queued"
    );
    assert!(seen.queued.1 > 0);
    assert_eq!(
        seen.after,
        (0, seen.queued.1),
        "every copy freed once taken; the chunks stay held"
    );
    assert_eq!(
        seen.vm_calls, 0,
        "every message was taken from the region, without process_vm_readv"
    );
}

#[test]
fn with_the_heap_exhausted_long_messages_are_still_delivered_intact() {
    // Budget: 16 pages, one chunk; the largest buffer 16 KiB.
    let sk = shared_kernel(64);
    let recv = process(&sk.k);
    let send = process(&sk.k);
    let _b = bind(&send);
    // Four of the largest buffers spend the whole budget.
    let held: Vec<SharedBuf> = (0..4)
        .map(|i| asyncmsg_malloc_shared(16 * 1024).unwrap_or_else(|e| panic!("{i}: {e:?}")))
        .collect();
    assert_eq!(usage(), (4, 16));
    assert_eq!(asyncmsg_malloc_shared(129).map(drop), Err(Errno::ENOMEM));
    let seen = put_and_take(&recv, 30);
    assert_eq!(seen.queued, (4, 16), "no copy was made: the heap is full");
    assert_eq!(seen.after, (4, 16));
    drop(held);
}

#[test]
fn shared_buffers_put_in_a_shared_kernel_are_delivered_uncopied_and_handed_back() {
    let sk = shared_kernel(1024);
    let recv = process(&sk.k);
    let send = process(&sk.k);
    let _b = bind(&send);
    let (tx_chid, rx_chid) = mpsc::channel();
    let (tx_go, rx_go) = mpsc::channel::<()>();
    let (tx_done, rx_done) = mpsc::channel::<()>();
    const N: u32 = 20;
    let receiver = recv
        .spawn(move || {
            let chid = asyncmsg_channel_create(0, 0o600, BUFSZ, 16, None, None).expect("channel");
            tx_chid.send(chid).expect("send chid");
            rx_go.recv_timeout(DEADLINE).expect("go");
            let (got, _) = take(chid, N as usize);
            let _ = rx_done.recv_timeout(DEADLINE);
            asyncmsg_channel_destroy(chid).expect("destroy");
            got
        })
        .expect("spawn the receiver");
    let chid = rx_chid.recv_timeout(DEADLINE).expect("the receiver's chid");
    let rec = Recorder::default();
    let a = AsyncConnAttr {
        call_back: Some(rec.callback()),
        ..attr(4, Duration::ZERO, 32)
    };
    let coid = connect(recv.pid(), chid, 0, &a);
    let mut ptrs = Vec::new();
    for seq in 0..N {
        let m = long_message(seq, LENS[seq as usize % LENS.len()]);
        let mut b = asyncmsg_malloc_shared(m.len()).expect("a send buffer");
        assert!(b.in_region());
        b.copy_from_slice(&m);
        ptrs.push(b.as_ptr() as usize);
        asyncmsg_put_shared(coid, b, seq, None)
            .unwrap_or_else(|e| panic!("asyncmsg_put_shared {seq}: {:?}", e.errno));
    }
    assert_eq!(usage().0, N as usize, "the buffers put, and no copies");
    tx_go.send(()).expect("go");
    asyncmsg_flush_timeout(coid, LONG).expect("asyncmsg_flush_timeout");
    let calls = rec.wait(N as usize);
    tx_done.send(()).expect("done");
    let got = join(receiver);
    for (seq, g) in got.iter().enumerate() {
        let want = long_message(seq as u32, LENS[seq % LENS.len()]);
        assert!(g.err == 0 && g.data == want, "message {seq}");
    }
    assert_eq!(
        Recorder::pairs(&calls),
        (0..N).map(|s| (0, s)).collect::<Vec<_>>()
    );
    for c in &calls {
        let want = long_message(c.handle, LENS[c.handle as usize % LENS.len()]);
        match &c.buf {
            AsyncBuf::Shared(b) => {
                assert!(b.in_region());
                assert_eq!(
                    b.as_ptr() as usize,
                    ptrs[c.handle as usize],
                    "the very buffer"
                );
                assert!(b[..] == want[..], "callback {}: its bytes", c.handle);
            }
            other => panic!("callback {}: {other:?}", c.handle),
        }
    }
    assert_eq!(
        usage().0,
        N as usize,
        "the callbacks' buffers are the caller's now"
    );
    drop(calls);
    assert_eq!(usage().0, 0);
    asyncmsg_connect_detach(coid).expect("asyncmsg_connect_detach");
}

// ------------------------------------------------------------------ the raw form (the C API)

#[test]
fn into_raw_view_raw_and_from_raw_round_trip_a_region_buffer() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    // Another buffer keeps the heap alive whatever happens to the raw one.
    let keep = asyncmsg_malloc_shared(5000).expect("a buffer");
    let mut b = asyncmsg_malloc_shared(1000).expect("a buffer");
    let m = long_message(3, 1000);
    b.copy_from_slice(&m);
    assert_eq!(usage().0, 2);
    let raw = b.into_raw().expect("a region buffer has a raw pointer");
    assert_eq!(
        usage().0,
        2,
        "given up as a pointer, the buffer is still out"
    );

    // SAFETY: the buffer is out as `raw`, not taken back while the view lives, and nothing
    // writes it meanwhile.
    let view = unsafe { SharedBuf::view_raw(raw) }.expect("a view of the raw buffer");
    assert!(view.in_region());
    assert_eq!(
        (view.len(), view.capacity()),
        (1024, 1024),
        "a view's length is its capacity"
    );
    assert_eq!(&view[..1000], &m[..]);
    drop(view);
    assert_eq!(usage().0, 2, "a dropped view frees nothing");

    // SAFETY: (refused: no view is made.)
    let none = unsafe { SharedBuf::view_raw(raw.wrapping_add(1)) }.is_none();
    assert!(none, "one byte past a buffer's start is no buffer");
    let mut local = vec![0u8; 64];
    // SAFETY: (refused: no view is made.)
    let none = unsafe { SharedBuf::view_raw(local.as_mut_ptr()) }.is_none();
    assert!(none, "memory outside the heap is no buffer");
    // SAFETY: (refused: no buffer is made.)
    let none = unsafe { SharedBuf::from_raw(raw.wrapping_add(1)) }.is_none();
    assert!(none, "nor is it one to take back");

    // SAFETY: `raw` came from into_raw and was not taken back since.
    let back = unsafe { SharedBuf::from_raw(raw) }.expect("the buffer back");
    assert!(back.in_region());
    assert_eq!(back.as_ptr(), raw.cast_const());
    assert_eq!(&back[..1000], &m[..]);
    assert_eq!(usage().0, 2);
    // SAFETY: (refused: taken back already, so no second owner is made.)
    let none = unsafe { SharedBuf::from_raw(raw) }.is_none();
    assert!(none, "a buffer is taken back once");
    // SAFETY: (refused: no view of a buffer that has an owner again.)
    let none = unsafe { SharedBuf::view_raw(raw) }.is_none();
    assert!(none, "no view of a buffer taken back");
    drop(back);
    assert_eq!(usage().0, 1, "the buffer taken back is freed when dropped");
    // Freed: the same class gives it again.
    let again = asyncmsg_malloc_shared(1024).expect("a buffer");
    assert_eq!(again.as_ptr(), raw.cast_const());
    drop(again);
    drop(keep);
}

#[test]
fn a_heap_whose_buffer_went_through_into_raw_and_from_raw_still_gives_its_pages_back() {
    let sk = shared_kernel(256);
    let p = process(&sk.k);
    let _b = bind(&p);
    let before = sk.k.async_queue_pages_in_use();
    let b = asyncmsg_malloc_shared(1000).expect("a buffer");
    assert_eq!(sk.k.async_queue_pages_in_use(), before + 16);
    let raw = b.into_raw().expect("a region buffer has a raw pointer");
    // SAFETY: `raw` came from into_raw and was not taken back since.
    drop(unsafe { SharedBuf::from_raw(raw) }.expect("the buffer back"));
    // Nothing uses the heap any more: as when a buffer is dropped without the round trip
    // (a_heap_nothing_uses_any_more_gives_its_pages_back_to_the_kernel).
    assert_eq!(asyncmsg_shared_usage(), Ok(None), "the heap is gone");
    assert_eq!(sk.k.async_queue_pages_in_use(), before);
}
