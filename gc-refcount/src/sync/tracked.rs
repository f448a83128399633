//! The lists of tracked shared objects: every shared object whose value may hold handles is in
//! one, so that the shared collector can find it. One list (a [`Shard`]) per registered thread,
//! behind a mutex that only its owner takes in the common case (objects are usually allocated
//! and freed by the same thread), and that the collector takes while the world is stopped.
//!
//! A list is an array of pointers, and each object knows its place in it (`slot`): removal moves
//! the last pointer into the hole. An intrusive linked list was used before; walking it waited for
//! one cache miss per object (each `next` lives in the object, usually last written by another
//! core), and that walk was the largest part of a collection's pause. Walking the array, the
//! collector prefetches the objects a few places ahead
//! ([`prefetch_object`](gc_core::prefetch::prefetch_object)), so the misses
//! overlap.

use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The part of a shared object's header that the lists and the collector use: the object's place
/// in its list, the list it is in, and the collector's state word.
pub struct TrackedLinks {
    /// The object's index in its list's array. Guarded by the shard's mutex.
    slot: UnsafeCell<usize>,
    /// The list the object is in; null for an untracked object (a leaf value). Written once,
    /// before the object is shared.
    shard: UnsafeCell<*const Shard>,
    /// The collector's word: [`state::DEAD`] once the object's value is (being) torn down by a
    /// collection, 0 before. An atomic because blocking threads may read `DEAD` (on dereference)
    /// while the collector writes it.
    state: AtomicUsize,
}

// SAFETY: `slot` and `shard` are read and written only by a thread holding the mutex of
// the object's shard (or, for `shard`, before the object is shared with another thread); `state`
// is atomic.
unsafe impl Sync for TrackedLinks {}
// SAFETY: as for `Sync`; the raw pointer only names the list.
unsafe impl Send for TrackedLinks {}

/// Flags of the collector's state word.
pub(crate) mod state {
    /// Found garbage: the value is being, or has been, dropped by the collector.
    pub(crate) const DEAD: usize = 2;
}

impl TrackedLinks {
    /// Links of an object in no list.
    pub(crate) const fn new() -> Self {
        TrackedLinks {
            slot: UnsafeCell::new(0),
            shard: UnsafeCell::new(ptr::null()),
            state: AtomicUsize::new(0),
        }
    }

    /// The collector's state word.
    #[inline(always)]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Relaxed)
    }

    /// Sets the collector's state word (the collector only, or the allocating thread).
    #[inline(always)]
    pub(crate) fn set_state(&self, value: usize) {
        self.state.store(value, Relaxed);
    }

    /// Whether a collection found the object garbage (its value is dropped or being dropped).
    #[inline(always)]
    pub(crate) fn is_dead(&self) -> bool {
        self.state() & state::DEAD != 0
    }
}

/// One list of tracked objects.
pub(crate) struct Shard {
    /// The shard's place among every shard made (`registry`'s `SHARDS`, which only grows).
    index: usize,
    list: Mutex<List>,
}

/// The objects of a shard, by generation, and its part of the allocation count that schedules
/// collections.
pub(crate) struct List {
    /// The objects not promoted yet (every object, under the free-threaded schedule, which never
    /// promotes); each one's `slot` is its index here.
    young: Vec<NonNull<TrackedLinks>>,
    /// The objects that survived a collection of the generational schedule; each one's `slot` is
    /// its index here, plus [`OLD`].
    old: Vec<NonNull<TrackedLinks>>,
    /// Tracked allocations minus tracked frees since this shard last reported to the scheduler.
    pub(crate) unreported: isize,
}

/// The bit of a `slot` that says the object is in its list's old generation.
const OLD: usize = 1 << (usize::BITS - 1);

/// A generation of a [`List`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generation {
    /// Not promoted yet.
    Young = 0,
    /// Survived a collection of the generational schedule.
    Old = 1,
}

// SAFETY: the raw pointers name objects whose list fields are only touched under the mutex.
unsafe impl Send for List {}

/// The array of a list shrinks by half when it is at most a quarter full, down to this many slots.
const MIN_CAPACITY: usize = 64;

impl Shard {
    /// A new, empty shard, for the program's lifetime (shards are reused, never freed: objects
    /// point to theirs), the `index`-th made.
    pub(crate) fn leak(index: usize) -> &'static Shard {
        Box::leak(Box::new(Shard {
            index,
            list: Mutex::new(List::new()),
        }))
    }

    /// The shard's place among every shard made: its list's place in the collector's table.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Locks the list (a panic cannot leave it inconsistent: no code that can panic runs while
    /// it is locked and inconsistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, List> {
        self.list.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl List {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        List {
            young: Vec::new(),
            old: Vec::new(),
            unreported: 0,
        }
    }

    /// The number of objects in the list.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// Adds `obj` to this list's young generation; the list belongs to `shard`.
    ///
    /// # Safety
    ///
    /// `obj` is a live object in no list, not yet shared with another thread; `self` is
    /// `shard`'s list, locked by the caller.
    pub(crate) unsafe fn push(&mut self, shard: &'static Shard, obj: NonNull<TrackedLinks>) {
        // SAFETY: `obj` is live and not shared yet, so its fields are the caller's alone.
        unsafe {
            let links = obj.as_ref();
            *links.shard.get() = shard;
            *links.slot.get() = self.young.len();
        }
        self.young.push(obj);
    }

    /// Removes `obj` from this list: the last object of its generation takes its place.
    ///
    /// # Safety
    ///
    /// `obj` is live and in this list, which the caller has locked.
    pub(crate) unsafe fn unlink(&mut self, obj: NonNull<TrackedLinks>) {
        // SAFETY: `obj` is a live member of this locked list, so its slot is guarded by the lock.
        let (generation, at) = unsafe { slot_of(obj) };
        let members = match generation {
            Generation::Young => &mut self.young,
            Generation::Old => &mut self.old,
        };
        debug_assert_eq!(members.get(at), Some(&obj), "a stale slot");
        let last = members.pop().expect("a member is in the list");
        if last != obj {
            members[at] = last;
            // SAFETY: `last` is a live member of this locked list.
            unsafe { *last.as_ref().slot.get() = slot_word(generation, at) };
        }
        shrink_if_sparse(members);
    }

    /// Moves every young object to the end of the old generation, whose slots the caller has
    /// already set there ([`set_promoted_slot`]: the collector sets them while it reads the
    /// objects anyway).
    ///
    /// # Safety
    ///
    /// Every young object's slot says `OLD` plus the old generation's length before this call
    /// plus its young index.
    pub(crate) unsafe fn adopt_young(&mut self) {
        self.old.extend_from_slice(&self.young);
        self.young.clear();
        shrink_if_sparse(&mut self.young);
    }

    /// Sets every young object's slot back to its young index (a promotion interrupted by a
    /// panic before [`adopt_young`](List::adopt_young)).
    pub(crate) fn revert_young_slots(&mut self) {
        for (at, &obj) in self.young.iter().enumerate() {
            // SAFETY: a live member of this list, locked by the caller of `&mut self`.
            unsafe { *obj.as_ref().slot.get() = slot_word(Generation::Young, at) };
        }
    }

    /// The objects of one generation, each at its slot (without [`OLD`]). Removing one
    /// ([`unlink`](List::unlink)) moves another into its place: take a copy of the array first
    /// to remove while walking.
    pub(crate) fn generation(&self, generation: Generation) -> &[NonNull<TrackedLinks>] {
        match generation {
            Generation::Young => &self.young,
            Generation::Old => &self.old,
        }
    }
}

/// Sets the slot of `obj`, a young object, to `old_index` in its list's old generation, ahead of
/// [`List::adopt_young`].
///
/// # Safety
///
/// `obj` is a live young member of a list the caller has locked, and the caller calls
/// [`List::adopt_young`] (or, if it cannot, [`List::revert_young_slots`]) before unlocking it,
/// with `old_index` the old generation's length then plus `obj`'s young index.
#[inline]
pub(crate) unsafe fn set_promoted_slot(obj: NonNull<TrackedLinks>, old_index: usize) {
    // SAFETY: the slot is guarded by the list's mutex, which the caller holds.
    unsafe { *obj.as_ref().slot.get() = slot_word(Generation::Old, old_index) };
}

/// The slot of an object at index `at` of its list's `generation`.
#[inline]
fn slot_word(generation: Generation, at: usize) -> usize {
    match generation {
        Generation::Young => at,
        Generation::Old => at | OLD,
    }
}

/// Halves the capacity of a generation's array that is at most a quarter full, down to
/// [`MIN_CAPACITY`].
fn shrink_if_sparse(members: &mut Vec<NonNull<TrackedLinks>>) {
    let capacity = members.capacity();
    if capacity > MIN_CAPACITY && members.len() <= capacity / 4 {
        members.shrink_to(capacity / 2);
    }
}

/// `obj`'s generation in its list, and its index in that generation's array.
///
/// # Safety
///
/// `obj` is a live tracked object, and the caller holds the lock of its shard.
#[inline]
pub(crate) unsafe fn slot_of(obj: NonNull<TrackedLinks>) -> (Generation, usize) {
    // SAFETY: the slot is guarded by the shard's mutex, which the caller holds.
    let slot = unsafe { *obj.as_ref().slot.get() };
    let generation = if slot & OLD == 0 {
        Generation::Young
    } else {
        Generation::Old
    };
    (generation, slot & !OLD)
}

/// The shard `obj` is in.
///
/// # Safety
///
/// `obj` is a live tracked object (made by [`List::push`]), and the caller happens-after its
/// allocation (it holds or held a reference).
pub(crate) unsafe fn shard_of(obj: NonNull<TrackedLinks>) -> &'static Shard {
    // SAFETY: `shard` was written once, before the object was shared, and shards are never freed.
    unsafe { &**obj.as_ref().shard.get() }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member's slot names its generation and its index in that generation's array.
    fn assert_consistent(list: &List) {
        for generation in [Generation::Young, Generation::Old] {
            for (index, &obj) in list.generation(generation).iter().enumerate() {
                // SAFETY: live boxes owned by the test; the list is locked.
                assert_eq!(unsafe { slot_of(obj) }, (generation, index));
            }
        }
    }

    /// Promotes every young member of `list`, as the collector does.
    fn promote(list: &mut List) {
        let old = list.old.len();
        for (at, &obj) in list.young.iter().enumerate() {
            // SAFETY: a young member of the locked list, adopted right after.
            unsafe { set_promoted_slot(obj, old + at) };
        }
        // SAFETY: every young slot was just set.
        unsafe { list.adopt_young() };
    }

    /// A young member's slot is set for a promotion that a panic interrupts: reverting restores
    /// the slot.
    #[test]
    fn an_interrupted_promotion_is_reverted() {
        let objects: Vec<Box<TrackedLinks>> =
            (0..3).map(|_| Box::new(TrackedLinks::new())).collect();
        let mut list = List::new();
        for object in &objects {
            // SAFETY: a live object in no list, not shared.
            unsafe { list.push(&SHARD, NonNull::from(&**object)) };
        }
        // SAFETY: a young member of a list only this test holds.
        unsafe { set_promoted_slot(list.young[1], 1) };
        list.revert_young_slots();
        assert_consistent(&list);
    }

    /// A shard of its own for the test (a static: Miri's leak check sees what it keeps).
    static SHARD: Shard = Shard {
        index: 0,
        list: Mutex::new(List::new()),
    };

    #[test]
    fn unlinking_moves_the_last_member_of_its_generation_into_the_hole() {
        let shard = &SHARD;
        let objects: Vec<Box<TrackedLinks>> =
            (0..300).map(|_| Box::new(TrackedLinks::new())).collect();
        let pointers: Vec<NonNull<TrackedLinks>> =
            objects.iter().map(|b| NonNull::from(&**b)).collect();
        let mut list = shard.lock();
        let (first, second) = pointers.split_at(200);
        for &obj in first {
            // SAFETY: a live object in no list, not shared.
            unsafe { list.push(shard, obj) };
        }
        promote(&mut list);
        for &obj in second {
            // SAFETY: as above.
            unsafe { list.push(shard, obj) };
        }
        assert_eq!(list.len(), 300);
        assert_eq!(list.generation(Generation::Old), first);
        assert_eq!(list.generation(Generation::Young), second);
        assert_consistent(&list);
        // SAFETY: members of the locked list, live until the end of the test.
        unsafe {
            assert_eq!(shard_of(pointers[7]) as *const Shard, shard as *const Shard);
            list.unlink(pointers[7]);
            list.unlink(pointers[207]);
        }
        assert_eq!(list.generation(Generation::Old)[7], pointers[199]);
        assert_eq!(list.generation(Generation::Young)[7], pointers[299]);
        assert_consistent(&list);
        // Remove most of the rest in a scattered order, promoting now and then; the arrays
        // shrink as they empty.
        for step in 0..290 {
            let at = (step * 37) % list.len();
            let young = list.generation(Generation::Young).len();
            let obj = if at < young {
                list.generation(Generation::Young)[at]
            } else {
                list.generation(Generation::Old)[at - young]
            };
            // SAFETY: as above.
            unsafe { list.unlink(obj) };
            if step % 50 == 0 {
                promote(&mut list);
                assert!(list.generation(Generation::Young).is_empty());
            }
            // Every step natively; under Miri, where checking every step took 36 s, every 25th
            // step (every promotion among them) and the end.
            if !cfg!(miri) || step % 25 == 0 {
                assert!(!list.generation(Generation::Young).contains(&obj));
                assert!(!list.generation(Generation::Old).contains(&obj));
                assert_consistent(&list);
            }
        }
        assert_consistent(&list);
        assert_eq!(list.len(), 8);
        assert!(list.old.capacity() <= 2 * MIN_CAPACITY);
        assert!(list.young.capacity() <= 2 * MIN_CAPACITY);
    }
}
