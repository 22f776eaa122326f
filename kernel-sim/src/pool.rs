//! Fixed-capacity pools with free lists and generation-tagged ids.
//!
//! A pool is a slice of slots in the kernel region plus a small head (free-list head, counts).
//! Allocating pops the free list; freeing bumps the slot's generation and appends it at the
//! list's tail, so an [`Id`] kept past its object's life no longer matches and is answered with
//! an error, never with a successor that happens to reuse the slot. The list is first in,
//! first out: a freed slot is the last to be reused, so a slot's generation advances as slowly
//! as the pool allows (ids that carry only some bits of it, like timer ids, repeat as late as
//! possible). No heap pointers: links are slot indices.

use std::fmt;
use std::marker::PhantomData;

/// No slot: the end of a free list, or an empty link.
pub const NIL: u32 = u32::MAX;

/// A generation-tagged reference to a pool slot.
#[repr(C)]
pub struct Id<T> {
    /// Slot index in the pool.
    pub index: u32,
    /// The slot's generation when the id was made.
    pub gen: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// The id that refers to nothing.
    pub const NONE: Id<T> = Id {
        index: NIL,
        gen: 0,
        _t: PhantomData,
    };

    /// An id from its parts.
    pub const fn new(index: u32, gen: u32) -> Id<T> {
        Id {
            index,
            gen,
            _t: PhantomData,
        }
    }

    /// Whether this is [`Id::NONE`].
    pub fn is_none(&self) -> bool {
        self.index == NIL
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, o: &Self) -> bool {
        self.index == o.index && self.gen == o.gen
    }
}
impl<T> Eq for Id<T> {}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            write!(f, "none")
        } else {
            write!(f, "{}#{}", self.index, self.gen)
        }
    }
}

/// The bookkeeping every pooled object carries.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlotHdr {
    /// Bumped on every free; starts at 1.
    pub gen: u32,
    /// Next free slot while free.
    pub next_free: u32,
    /// Whether the slot holds a live object.
    pub live: bool,
}

impl SlotHdr {
    /// The header of a never-used slot.
    pub const fn fresh() -> SlotHdr {
        SlotHdr {
            gen: 1,
            next_free: NIL,
            live: false,
        }
    }
}

/// An object that lives in a pool.
pub trait Pooled: Sized {
    /// The object's slot header.
    fn hdr(&self) -> &SlotHdr;
    /// The object's slot header, mutably.
    fn hdr_mut(&mut self) -> &mut SlotHdr;
    /// An empty slot's contents.
    fn vacant() -> Self;
    /// Empties a slot being freed (by default: makes it [`Pooled::vacant`]); an object may keep
    /// something for the slot's next tenant.
    fn reset(&mut self) {
        *self = Self::vacant();
    }
}

/// A pool's head: its free list and counts. Lives in the region header.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PoolHead {
    /// First free slot (the next to be taken), or [`NIL`].
    pub free: u32,
    /// Last free slot (the most recently freed), or [`NIL`].
    pub free_tail: u32,
    /// Live objects.
    pub live: u32,
    /// Slots in all.
    pub capacity: u32,
    /// The most live objects there have been at once.
    pub high_water: u32,
}

impl PoolHead {
    /// The head of a pool of `capacity` slots, all free and linked in index order.
    pub fn new(capacity: u32) -> PoolHead {
        PoolHead {
            free: if capacity == 0 { NIL } else { 0 },
            free_tail: capacity.checked_sub(1).unwrap_or(NIL),
            live: 0,
            capacity,
            high_water: 0,
        }
    }
}

/// A pool: a view of its slots and head inside the region, valid while the kernel lock is held.
pub struct Pool<'a, T: Pooled> {
    head: &'a mut PoolHead,
    slots: &'a mut [T],
    /// A shared kernel's undo record: each slot is logged before it is changed (undo.rs).
    undo: Option<crate::undo::UndoRef>,
}

impl<T: Pooled> fmt::Debug for Pool<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("head", &*self.head).finish()
    }
}

impl<'a, T: Pooled> Pool<'a, T> {
    /// A view of a pool (unlogged: for tests).
    #[cfg(test)]
    pub fn new(head: &'a mut PoolHead, slots: &'a mut [T]) -> Self {
        Pool {
            head,
            slots,
            undo: None,
        }
    }

    /// A view of a pool whose changes are logged in `undo` first.
    pub fn logged(
        head: &'a mut PoolHead,
        slots: &'a mut [T],
        undo: Option<crate::undo::UndoRef>,
    ) -> Self {
        Pool { head, slots, undo }
    }

    /// Logs the head's before image (a shared kernel's undo record): `alloc` and `free`, the
    /// only changes of the head, log it first.
    #[inline(always)]
    fn log_head(&self) {
        if let Some(u) = &self.undo {
            u.get().log_val(&*self.head);
        }
    }

    /// Logs slot `i`'s before image (a shared kernel's undo record).
    #[inline(always)]
    fn log(&self, i: usize) {
        if let Some(u) = &self.undo {
            if let Some(s) = self.slots.get(i) {
                u.get().log_val(s);
            }
        }
    }

    /// Links every slot into the free list (used once, when the region is made).
    pub fn format(&mut self) {
        let n = self.slots.len() as u32;
        for (i, s) in self.slots.iter_mut().enumerate() {
            *s = T::vacant();
            s.hdr_mut().next_free = if (i as u32) + 1 < n {
                i as u32 + 1
            } else {
                NIL
            };
        }
        *self.head = PoolHead::new(n);
    }

    /// Takes a free slot and puts `value` in it; `None` when the pool is exhausted.
    pub fn alloc(&mut self, value: T) -> Option<Id<T>> {
        let i = self.head.free;
        if i == NIL {
            return None;
        }
        self.log_head();
        self.log(i as usize);
        let slot = &mut self.slots[i as usize];
        let gen = slot.hdr().gen;
        self.head.free = slot.hdr().next_free;
        if self.head.free == NIL {
            self.head.free_tail = NIL;
        }
        *slot = value;
        *slot.hdr_mut() = SlotHdr {
            gen,
            next_free: NIL,
            live: true,
        };
        self.head.live += 1;
        self.head.high_water = self.head.high_water.max(self.head.live);
        Some(Id::new(i, gen))
    }

    /// Frees the object `id` refers to; a stale or empty id is ignored. The slot goes to the
    /// tail of the free list.
    pub fn free(&mut self, id: Id<T>) {
        if self.get(id).is_none() {
            return;
        }
        self.log_head();
        self.log(id.index as usize);
        if self.head.free_tail != NIL {
            self.log(self.head.free_tail as usize);
        }
        let slot = &mut self.slots[id.index as usize];
        let gen = slot.hdr().gen.wrapping_add(1).max(1);
        slot.reset();
        *slot.hdr_mut() = SlotHdr {
            gen,
            next_free: NIL,
            live: false,
        };
        let tail = self.head.free_tail;
        if tail == NIL {
            self.head.free = id.index;
        } else {
            self.slots[tail as usize].hdr_mut().next_free = id.index;
        }
        self.head.free_tail = id.index;
        self.head.live -= 1;
    }

    /// The object `id` refers to, if it is still live with the same generation.
    #[inline]
    pub fn get(&self, id: Id<T>) -> Option<&T> {
        let s = self.slots.get(id.index as usize)?;
        (s.hdr().live && s.hdr().gen == id.gen).then_some(s)
    }

    /// The object `id` refers to, mutably, if it is still live with the same generation.
    #[inline]
    pub fn get_mut(&mut self, id: Id<T>) -> Option<&mut T> {
        self.log(id.index as usize);
        let s = self.slots.get_mut(id.index as usize)?;
        (s.hdr().live && s.hdr().gen == id.gen).then_some(s)
    }

    /// The slot the next `alloc` will take, if any (to carry state from its last tenant).
    pub fn peek_free(&self) -> Option<u32> {
        (self.head.free != NIL).then_some(self.head.free)
    }

    /// The current id of slot `index`, if it is live.
    pub fn id_at(&self, index: u32) -> Option<Id<T>> {
        let s = self.slots.get(index as usize)?;
        s.hdr().live.then(|| Id::new(index, s.hdr().gen))
    }

    /// The live object in slot `index` (unchecked generation: for links the kernel maintains).
    #[inline]
    pub fn at(&self, index: u32) -> &T {
        &self.slots[index as usize]
    }

    /// The live object in slot `index`, mutably.
    #[inline]
    pub fn at_mut(&mut self, index: u32) -> &mut T {
        self.log(index as usize);
        &mut self.slots[index as usize]
    }

    /// The object `id` refers to, mutably, if it is still live with the same generation,
    /// without logging it in the undo record: only for the calling thread's own slot, in the
    /// parts of a kernel call that change nothing another thread or a queue depends on (its
    /// entry's bookkeeping, the collection of its result). A call is undone only when the
    /// program making it died holding the lock, and that program's threads are then torn
    /// down, whatever these say; a later logged change in the same call logs the slot as it
    /// then is, which is as consistent.
    #[inline]
    pub fn get_mut_unlogged(&mut self, id: Id<T>) -> Option<&mut T> {
        let s = self.slots.get_mut(id.index as usize)?;
        (s.hdr().live && s.hdr().gen == id.gen).then_some(s)
    }

    /// The object in slot `index`, mutably, without logging it in the undo record: only for
    /// statistics (counters), which a call undone after a crash may leave counted.
    #[inline]
    pub fn at_mut_unlogged(&mut self, index: u32) -> &mut T {
        &mut self.slots[index as usize]
    }

    /// Ids of all live objects.
    pub fn live_ids(&self) -> impl Iterator<Item = Id<T>> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.hdr().live)
            .map(|(i, s)| Id::new(i as u32, s.hdr().gen))
    }

    /// The head's counts.
    pub fn head(&self) -> PoolHead {
        *self.head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Obj {
        hdr: SlotHdr,
        v: u32,
    }
    impl Pooled for Obj {
        fn hdr(&self) -> &SlotHdr {
            &self.hdr
        }
        fn hdr_mut(&mut self) -> &mut SlotHdr {
            &mut self.hdr
        }
        fn vacant() -> Self {
            Obj {
                hdr: SlotHdr::fresh(),
                v: 0,
            }
        }
    }

    fn obj(v: u32) -> Obj {
        Obj {
            hdr: SlotHdr::fresh(),
            v,
        }
    }

    #[test]
    fn stale_id_does_not_answer_for_the_slots_next_tenant() {
        let mut head = PoolHead::new(0);
        let mut slots: Vec<Obj> = (0..1).map(|_| Obj::vacant()).collect();
        let mut p = Pool::new(&mut head, &mut slots);
        p.format();
        let a = p.alloc(obj(1)).unwrap();
        p.free(a);
        let b = p.alloc(obj(2)).unwrap();
        assert_eq!(a.index, b.index);
        assert!(p.get(a).is_none());
        assert_eq!(p.get(b).unwrap().v, 2);
    }

    #[test]
    fn a_freed_slot_is_reused_last() {
        let mut head = PoolHead::new(0);
        let mut slots: Vec<Obj> = (0..3).map(|_| Obj::vacant()).collect();
        let mut p = Pool::new(&mut head, &mut slots);
        p.format();
        // One object is created and destroyed over and over: it cycles through every slot.
        let mut seen = Vec::new();
        for i in 0..6 {
            let a = p.alloc(obj(i)).unwrap();
            seen.push(a.index);
            p.free(a);
        }
        assert_eq!(seen, [0, 1, 2, 0, 1, 2]);
        // Exhausting and refilling keeps the list consistent.
        let all: Vec<_> = (0..3).map(|i| p.alloc(obj(i)).unwrap()).collect();
        assert!(p.alloc(obj(9)).is_none());
        p.free(all[1]);
        p.free(all[0]);
        assert_eq!(p.alloc(obj(7)).unwrap().index, all[1].index);
        assert_eq!(p.alloc(obj(8)).unwrap().index, all[0].index);
        assert!(p.alloc(obj(9)).is_none());
    }

    #[test]
    fn exhausted_pool_refuses_and_recovers_after_free() {
        let mut head = PoolHead::new(0);
        let mut slots: Vec<Obj> = (0..3).map(|_| Obj::vacant()).collect();
        let mut p = Pool::new(&mut head, &mut slots);
        p.format();
        let ids: Vec<_> = (0..3).map(|i| p.alloc(obj(i)).unwrap()).collect();
        assert!(p.alloc(obj(9)).is_none());
        assert_eq!(p.head().live, 3);
        p.free(ids[1]);
        p.free(ids[1]); // double free of a stale id is ignored
        assert_eq!(p.head().live, 2);
        assert!(p.alloc(obj(9)).is_some());
        assert_eq!(p.head().high_water, 3);
    }
}
