//! How ids encode what they name (what a program may rely on: all are opaque, but their
//! ranges, signs and the bits QNX documents are fixed here).
//!
//! * **rcvid** (`rcvid_t`): positive for a message, 0 for a pulse, and always below 2^31, so
//!   that C code keeping it in an `int` (QNX 7's `MsgReceive` returns `int`) loses nothing.
//!   Bits 0..15 hold the client thread's slot + 1, bits 15..31 a 16-bit generation that
//!   changes each time a thread in that slot is received (a stale rcvid is refused until the
//!   same client thread has been received 65,536 more times).
//! * **coid**: a small integer (the fd space, from 0) or `_NTO_SIDE_CHANNEL | n` (n >= 1: 0 is
//!   QNX's `SYSMGR_COID`). A server's scoids share the side-channel space with its own coids.
//! * **timer id**: a positive 31-bit integer: the timer's slot + 1 in the low bits (as many as
//!   the kernel's `max_timers` needs), the low bits of the slot's generation above.

use super::consts::_NTO_SIDE_CHANNEL;
use super::types::RcvId;

/// Bits of an rcvid that hold the client thread's slot + 1 (`Config::max_threads` is at most
/// 0x7fff, so slot + 1 fits).
pub const RCVID_SLOT_BITS: u32 = 15;
/// Bits of an rcvid that hold the generation: 16, so an rcvid is positive in 31 bits (a C
/// `int`).
pub const RCVID_GEN_BITS: u32 = 16;
const RCVID_GEN_MASK: u64 = (1 << RCVID_GEN_BITS) - 1;

/// The rcvid of slot `idx`'s exchange number `gen`.
pub fn rcvid_make(idx: u32, gen: u64) -> RcvId {
    (((gen & RCVID_GEN_MASK) << RCVID_SLOT_BITS) | (idx as u64 + 1)) as RcvId
}

/// An rcvid's (slot, generation), or `None` if it cannot name a client (0, negative, no slot).
pub fn rcvid_parts(rcvid: RcvId) -> Option<(u32, u64)> {
    if rcvid <= 0 {
        return None;
    }
    let slot1 = (rcvid as u64 & ((1 << RCVID_SLOT_BITS) - 1)) as u32;
    let gen = (rcvid as u64) >> RCVID_SLOT_BITS;
    (slot1 != 0 && gen <= RCVID_GEN_MASK).then(|| (slot1 - 1, gen))
}

/// Whether generation `gen` is one a thread created at generation `first` has been received
/// with, now that it is at `cur` (all modulo 2^16: a thread received more than 65535 times
/// reaches back that far only).
pub fn rcvid_gen_since(first: u64, cur: u64, gen: u64) -> bool {
    let span = cur.wrapping_sub(first) & RCVID_GEN_MASK;
    let off = gen.wrapping_sub(first) & RCVID_GEN_MASK;
    off >= 1 && off <= span
}

/// The generation after `gen` (wraps at 2^16).
pub fn rcvid_next_gen(gen: u64) -> u64 {
    gen.wrapping_add(1) & RCVID_GEN_MASK
}

/// A coid's table and index: `(true, n)` for the side-channel coid `_NTO_SIDE_CHANNEL | n`,
/// `(false, n)` for fd-space coid `n`; `None` for a negative coid.
pub fn coid_parts(coid: i32) -> Option<(bool, usize)> {
    if coid < 0 {
        return None;
    }
    let c = coid as u32;
    Some(if c & _NTO_SIDE_CHANNEL != 0 {
        (true, (c & !_NTO_SIDE_CHANNEL) as usize)
    } else {
        (false, c as usize)
    })
}

/// The side-channel coid with index `n`.
pub fn side_coid(n: usize) -> i32 {
    (_NTO_SIDE_CHANNEL | n as u32) as i32
}

/// Bits of a timer id that hold the slot + 1, for a kernel of `max_timers` timers.
pub fn timer_slot_bits(max_timers: u32) -> u32 {
    32 - max_timers.leading_zeros()
}

/// The timer id of slot `index` at pool generation `gen`, for a kernel of `max_timers` timers.
pub fn timer_id_make(max_timers: u32, index: u32, gen: u32) -> i32 {
    let bits = timer_slot_bits(max_timers);
    let gen_mask = (1u32 << (31 - bits)) - 1;
    (((gen & gen_mask) << bits) | (index + 1)) as i32
}

/// A timer id's (slot, generation bits), or `None` if it cannot name a timer.
pub fn timer_id_parts(max_timers: u32, id: i32) -> Option<(u32, u32)> {
    if id <= 0 {
        return None;
    }
    let bits = timer_slot_bits(max_timers);
    let slot1 = id as u32 & ((1 << bits) - 1);
    (slot1 != 0).then(|| (slot1 - 1, (id as u32) >> bits))
}

/// Whether pool generation `gen` matches the generation bits of a timer id.
pub fn timer_gen_matches(max_timers: u32, gen: u32, id_gen: u32) -> bool {
    let gen_mask = (1u32 << (31 - timer_slot_bits(max_timers))) - 1;
    gen & gen_mask == id_gen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rcvids_round_trip_and_stay_positive_over_the_whole_generation_range() {
        for idx in [0, 1, 0x7ffe] {
            for gen in [0, 1, 0x7fff, 0x8000, 0xffff] {
                let r = rcvid_make(idx, gen);
                assert!(r > 0);
                assert!(r <= i64::from(i32::MAX), "an rcvid fits in a C int");
                assert_eq!(rcvid_parts(r), Some((idx, gen)));
            }
        }
        assert_ne!(rcvid_make(3, 5), rcvid_make(3, 6));
        assert_eq!(rcvid_next_gen(0xffff), 0);
        assert_eq!(
            rcvid_parts(1 << 31 | 1),
            None,
            "beyond 31 bits names no exchange"
        );
        assert_eq!(rcvid_parts(0), None);
        assert_eq!(rcvid_parts(-5), None);
        assert_eq!(rcvid_parts(1 << RCVID_SLOT_BITS), None, "slot 0 means none");
    }

    #[test]
    fn timer_ids_round_trip_for_every_pool_size() {
        for max in [1u32, 2, 255, 256, 0x7fff] {
            for index in [0, max - 1] {
                for gen in [0u32, 1, 12345, u32::MAX] {
                    let id = timer_id_make(max, index, gen);
                    assert!(id > 0, "max {max} index {index} gen {gen}");
                    let (i, g) = timer_id_parts(max, id).unwrap();
                    assert_eq!(i, index);
                    assert!(timer_gen_matches(max, gen, g));
                    assert!(!timer_gen_matches(max, gen.wrapping_add(1), g));
                }
            }
        }
    }

    #[test]
    fn coids_split_into_their_table_and_index() {
        assert_eq!(coid_parts(0), Some((false, 0)));
        assert_eq!(coid_parts(side_coid(7)), Some((true, 7)));
        assert_eq!(coid_parts(-1), None);
    }
}
