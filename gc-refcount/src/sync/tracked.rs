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

/// The objects of a shard, and its part of the allocation count that schedules collections.
pub(crate) struct List {
    /// Every object of the list; each one's `slot` is its index here.
    members: Vec<NonNull<TrackedLinks>>,
    /// Tracked allocations minus tracked frees since this shard last reported to the scheduler.
    pub(crate) unreported: isize,
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
            list: Mutex::new(List {
                members: Vec::new(),
                unreported: 0,
            }),
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
    /// The number of objects in the list.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// Adds `obj` to this list, which belongs to `shard`.
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
            *links.slot.get() = self.members.len();
        }
        self.members.push(obj);
    }

    /// Removes `obj` from this list: the last object takes its place.
    ///
    /// # Safety
    ///
    /// `obj` is live and in this list, which the caller has locked.
    pub(crate) unsafe fn unlink(&mut self, obj: NonNull<TrackedLinks>) {
        // SAFETY: `obj` is a live member of this locked list, so its slot is guarded by the lock.
        let slot = unsafe { *obj.as_ref().slot.get() };
        debug_assert_eq!(self.members.get(slot), Some(&obj), "a stale slot");
        let last = self.members.pop().expect("a member is in the list");
        if last != obj {
            self.members[slot] = last;
            // SAFETY: `last` is a live member of this locked list.
            unsafe { *last.as_ref().slot.get() = slot };
        }
        let capacity = self.members.capacity();
        if capacity > MIN_CAPACITY && self.members.len() <= capacity / 4 {
            self.members.shrink_to(capacity / 2);
        }
    }

    /// Every object of the list. Removing one ([`unlink`](List::unlink)) moves another into its
    /// place: take a copy of the array first to remove while walking.
    pub(crate) fn members(&self) -> &[NonNull<TrackedLinks>] {
        &self.members
    }
}

/// `obj`'s index in its list's array.
///
/// # Safety
///
/// `obj` is a live tracked object, and the caller holds the lock of its shard.
#[inline]
pub(crate) unsafe fn slot_of(obj: NonNull<TrackedLinks>) -> usize {
    // SAFETY: the slot is guarded by the shard's mutex, which the caller holds.
    unsafe { *obj.as_ref().slot.get() }
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

    /// Every member's `slot` names its index in the array.
    fn assert_consistent(list: &List) {
        for (index, obj) in list.members().iter().enumerate() {
            // SAFETY: live boxes owned by the test; the list is not shared.
            assert_eq!(unsafe { *obj.as_ref().slot.get() }, index);
        }
    }

    /// A shard of its own for the test (a static: Miri's leak check sees what it keeps).
    static SHARD: Shard = Shard {
        index: 0,
        list: Mutex::new(List {
            members: Vec::new(),
            unreported: 0,
        }),
    };

    #[test]
    fn unlinking_moves_the_last_member_into_the_hole() {
        let shard = &SHARD;
        let objects: Vec<Box<TrackedLinks>> =
            (0..200).map(|_| Box::new(TrackedLinks::new())).collect();
        let pointers: Vec<NonNull<TrackedLinks>> =
            objects.iter().map(|b| NonNull::from(&**b)).collect();
        let mut list = shard.lock();
        for &obj in &pointers {
            // SAFETY: a live object in no list, not shared.
            unsafe { list.push(shard, obj) };
        }
        assert_eq!(list.len(), 200);
        // SAFETY: members of the locked list, live until the end of the test.
        unsafe {
            assert_eq!(shard_of(pointers[7]) as *const Shard, shard as *const Shard);
            list.unlink(pointers[7]);
        }
        assert_eq!(list.members()[7], pointers[199]);
        assert_consistent(&list);
        // Remove the rest in a scattered order; the array shrinks as it empties.
        for step in 0..199 {
            let at = (step * 37) % list.len();
            let obj = list.members()[at];
            // SAFETY: as above.
            unsafe { list.unlink(obj) };
            assert!(!list.members().contains(&obj));
            assert_consistent(&list);
        }
        assert_eq!(list.len(), 0);
        assert!(list.members.capacity() <= 2 * MIN_CAPACITY);
    }
}
