//! The send buffers' pool: [`asyncmsg_malloc`] serves a put's buffer from the calling thread's
//! [`BufPool`], which the connection refills with the buffers of messages receivers took when
//! no callback is to receive them (conn.rs's `release_taken`). One pool per thread, no locking.

use kernel_sim::{Errno, KResult};
use std::cell::RefCell;

/// `asyncmsg_malloc(size)`: a buffer of `size` bytes to put. ENOMEM beyond 2 GiB, as QNX
/// documents.
///
/// Like QNX's (a plain `malloc`), it does not promise what the bytes hold: a new buffer is
/// zeroed, a recycled one may still hold an earlier message of this process. Buffers of up to
/// 64 KiB come from the calling thread's pool when it has one: the library gives a buffer back
/// to the pool of the thread that releases its slot, once a receiver took the message and no
/// callback is to receive it, so a producer that puts without callbacks allocates nothing in its
/// steady state. Any `Vec<u8>` may be put; buffers from here merely avoid the allocator.
#[inline]
pub fn asyncmsg_malloc(size: usize) -> KResult<Vec<u8>> {
    match malloc_pooled(size) {
        Some(v) => Ok(v),
        None => malloc_slow(size),
    }
}

/// [`asyncmsg_malloc`]'s common case: a buffer of the right class in the calling thread's pool,
/// filled under its current binding.
#[inline(always)]
fn malloc_pooled(size: usize) -> Option<Vec<u8>> {
    let k = BufPool::class_for(size)?;
    let epoch = crate::current::epoch();
    // The pool is borrowed outside `try_with`'s closure. A buffer handed out of the closure went
    // through the stack as two 8-byte stores read back as one 16-byte load: a load that cannot
    // be forwarded from the store buffer waits for every store before it to reach the cache,
    // the previous put's stores to lines the receiver's CPU holds among them. Measured: 8.3M
    // against 14.7M messages/s for asyncmsg/64 across CPUs (docs/results.md, issue 12).
    let pool: *const RefCell<BufPool> = BUF_POOL.try_with(std::ptr::from_ref).ok()?;
    // SAFETY: the calling thread's pool, which lives until the thread's thread-locals are
    // destroyed; `try_with` just found it alive, and nothing below can end it.
    let mut pool = unsafe { &*pool }.try_borrow_mut().ok()?;
    if pool.epoch != epoch {
        return None;
    }
    let mut v = pool.classes[k].pop()?;
    pool.bytes -= v.capacity();
    if v.len() >= size {
        v.truncate(size);
    } else {
        v.resize(size, 0);
    }
    Some(v)
}

/// [`asyncmsg_malloc`] when the pool cannot serve: a new buffer (or ENOMEM), after emptying a
/// pool filled under another binding.
#[inline(never)]
fn malloc_slow(size: usize) -> KResult<Vec<u8>> {
    if size > (2usize << 30) {
        return Err(Errno::ENOMEM);
    }
    if BufPool::class_for(size).is_none() {
        // Too big to pool: calloc's lazily zeroed pages, as before the pool.
        return Ok(vec![0u8; size]);
    }
    let epoch = crate::current::epoch();
    let pooled = BUF_POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            pool.enter(epoch);
            pool.take(size)
        })
        .ok()
        .flatten();
    let mut v = match pooled {
        Some(v) => v,
        None => BufPool::fresh(size)?,
    };
    if v.len() >= size {
        v.truncate(size);
    } else {
        v.resize(size, 0);
    }
    Ok(v)
}

/// Recycled send buffers, by size class: class `k` holds buffers of capacity `2^k` up to
/// `2^(k+1) - 1` (`MIN_SHIFT ≤ k ≤ MAX_SHIFT`), each class at most `PER_CLASS` of them and the
/// pool at most `MAX_BYTES` in all. One per thread (no locking), and per binding: a thread
/// that binds to another process starts with an empty pool, so that a recycled buffer never
/// holds another process's message.
#[derive(Debug)]
pub(super) struct BufPool {
    pub(super) classes: [Vec<Vec<u8>>; (BufPool::MAX_SHIFT - BufPool::MIN_SHIFT + 1) as usize],
    bytes: usize,
    /// The binding epoch ([`crate::current::epoch`]) the buffers were filled under.
    epoch: u64,
}

impl BufPool {
    pub(super) const fn new() -> BufPool {
        BufPool {
            classes: [const { Vec::new() }; (BufPool::MAX_SHIFT - BufPool::MIN_SHIFT + 1) as usize],
            bytes: 0,
            epoch: 0,
        }
    }

    /// Empties the pool if the thread's binding changed since it was filled.
    #[inline]
    pub(super) fn enter(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.classes.iter_mut().for_each(Vec::clear);
            self.bytes = 0;
            self.epoch = epoch;
        }
    }

    const MIN_SHIFT: u32 = 4;
    const MAX_SHIFT: u32 = 16;
    const PER_CLASS: usize = 4096;
    const MAX_BYTES: usize = 8 << 20;

    /// The class that serves a request of `size` bytes (`None`: too big to pool).
    #[inline]
    fn class_for(size: usize) -> Option<usize> {
        // ceil(log2(size)), at least MIN_SHIFT.
        let shift = (usize::BITS - size.saturating_sub(1).leading_zeros()).max(Self::MIN_SHIFT);
        (shift <= Self::MAX_SHIFT).then(|| (shift - Self::MIN_SHIFT) as usize)
    }

    /// A new empty buffer for `size` bytes: capacity rounded up to its class, so that it can
    /// come back to the pool. ENOMEM when the memory cannot be had.
    fn fresh(size: usize) -> KResult<Vec<u8>> {
        let cap = Self::class_for(size).map_or(size, |k| 1usize << (k as u32 + Self::MIN_SHIFT));
        let mut v = Vec::new();
        v.try_reserve_exact(cap).map_err(|_| Errno::ENOMEM)?;
        Ok(v)
    }

    /// A pooled buffer able to hold `size` bytes (with its old contents).
    #[inline]
    fn take(&mut self, size: usize) -> Option<Vec<u8>> {
        let k = Self::class_for(size)?;
        let v = self.classes[k].pop()?;
        self.bytes -= v.capacity();
        Some(v)
    }

    /// Keeps `v` for a later [`BufPool::take`], or drops it (too small or too big to pool, its
    /// class full). When the byte budget is spent, buffers of larger classes make room for it
    /// (a producer that moved to smaller messages does not find its pool full of old ones).
    #[inline(always)]
    pub(super) fn give(&mut self, v: Vec<u8>) {
        let cap = v.capacity();
        if !((1 << Self::MIN_SHIFT)..(2 << Self::MAX_SHIFT)).contains(&cap) {
            return;
        }
        // The largest class whose size the capacity covers.
        let k = (usize::BITS - 1 - cap.leading_zeros() - Self::MIN_SHIFT) as usize;
        if self.classes[k].len() >= Self::PER_CLASS {
            return;
        }
        let mut big = self.classes.len();
        while self.bytes + cap > Self::MAX_BYTES {
            // Evict from the largest non-empty class above ours; none: drop `v` instead.
            while big > k + 1 && self.classes[big - 1].is_empty() {
                big -= 1;
            }
            if big <= k + 1 {
                return;
            }
            if let Some(old) = self.classes[big - 1].pop() {
                self.bytes -= old.capacity();
            }
        }
        self.bytes += cap;
        self.classes[k].push(v);
    }
}

thread_local! {
    /// This thread's recycled send buffers (see [`asyncmsg_malloc`]).
    pub(super) static BUF_POOL: RefCell<BufPool> = const { RefCell::new(BufPool::new()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_to_powers_of_two() {
        assert_eq!(BufPool::class_for(0), Some(0));
        assert_eq!(BufPool::class_for(1), Some(0));
        assert_eq!(BufPool::class_for(16), Some(0));
        assert_eq!(BufPool::class_for(17), Some(1));
        assert_eq!(BufPool::class_for(64), Some(2));
        assert_eq!(BufPool::class_for(65), Some(3));
        assert_eq!(BufPool::class_for(64 << 10), Some(12));
        assert_eq!(BufPool::class_for((64 << 10) + 1), None);
        // A fresh buffer's capacity is its class's size, so it can come back to the pool.
        assert_eq!(BufPool::fresh(65).unwrap().capacity(), 128);
        assert_eq!(BufPool::fresh(100_000).unwrap().capacity(), 100_000);
        // Up to twice the largest class's size, a buffer serves that class; beyond, it is
        // dropped.
        let mut pool = BufPool::new();
        pool.give(Vec::with_capacity(1 << 20));
        assert_eq!(pool.bytes, 0);
        pool.give(BufPool::fresh(100_000).unwrap());
        assert_eq!(pool.bytes, 100_000);
        assert_eq!(pool.take(64 << 10).map(|v| v.capacity()), Some(100_000));
    }

    #[test]
    fn pool_gives_back_what_it_took_and_stays_bounded() {
        let mut pool = BufPool::new();
        let mut v = BufPool::fresh(64).unwrap();
        v.resize(64, 7);
        let addr = v.as_ptr();
        pool.give(v);
        assert_eq!(pool.bytes, 64);
        assert!(
            pool.take(128).is_none(),
            "a 64-byte buffer cannot serve 128 bytes"
        );
        let again = pool
            .take(33)
            .expect("the 64-byte buffer serves 33..=64 bytes");
        assert_eq!(again.as_ptr(), addr);
        assert_eq!(pool.bytes, 0);
        // Too small to pool: dropped.
        pool.give(Vec::with_capacity(8));
        assert_eq!(pool.bytes, 0);
        // At most PER_CLASS per class.
        for _ in 0..BufPool::PER_CLASS + 10 {
            pool.give(BufPool::fresh(16).unwrap());
        }
        assert_eq!(pool.classes[0].len(), BufPool::PER_CLASS);
        // At most MAX_BYTES in all.
        let big = (64 << 10) as usize;
        for _ in 0..(BufPool::MAX_BYTES / big) + 10 {
            pool.give(BufPool::fresh(big).unwrap());
        }
        assert!(pool.bytes <= BufPool::MAX_BYTES);
        assert!(pool.classes[12].len() < BufPool::MAX_BYTES / big + 10);
        // The budget is spent: small buffers still come in, evicting big ones.
        let before = pool.classes[12].len();
        let mut small = BufPool::fresh(64).unwrap();
        small.resize(64, 1);
        pool.give(small);
        assert_eq!(pool.classes[2].len(), 1);
        assert_eq!(pool.classes[12].len(), before - 1);
        assert!(pool.bytes <= BufPool::MAX_BYTES);
        assert!(pool.take(64).is_some());
    }

    #[test]
    fn a_new_binding_empties_the_pool() {
        let mut pool = BufPool::new();
        pool.enter(1);
        pool.give(BufPool::fresh(64).unwrap());
        pool.enter(1);
        assert!(pool.take(64).is_some(), "same binding: kept");
        pool.give(BufPool::fresh(64).unwrap());
        pool.enter(2);
        assert_eq!(pool.bytes, 0);
        assert!(pool.take(64).is_none(), "another binding: emptied");
    }

    #[test]
    fn malloc_reuses_a_recycled_buffer_at_the_asked_length() {
        let mut v = asyncmsg_malloc(40).unwrap();
        assert_eq!(v, vec![0u8; 40]);
        v.iter_mut().for_each(|b| *b = 9);
        let addr = v.as_ptr();
        BUF_POOL.with(|p| p.borrow_mut().give(v));
        // The 64-byte class serves 33..=64 bytes.
        let w = asyncmsg_malloc(33).unwrap();
        assert_eq!((w.as_ptr(), w.len()), (addr, 33));
        BUF_POOL.with(|p| p.borrow_mut().give(w));
        // Longer than the old contents: the new bytes are zeroed.
        let x = asyncmsg_malloc(64).unwrap();
        assert_eq!(x.len(), 64);
        assert_eq!(x.as_ptr(), addr);
        assert!(x[..33].iter().all(|&b| b == 9) && x[33..].iter().all(|&b| b == 0));
    }
}
