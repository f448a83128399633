//! The lists of tracked shared objects: every shared object whose value may hold handles is in
//! one, so that the shared collector can find it. One list (a [`Shard`]) per registered thread,
//! behind a mutex that only its owner takes in the common case (objects are usually allocated
//! and freed by the same thread), and that the collector takes while the world is stopped.

use std::cell::UnsafeCell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The part of a shared object's header that the lists and the collector use: the list links,
/// the list the object is in, and the collector's state word.
pub struct TrackedLinks {
    /// Previous and next object of the list; null at its ends. Guarded by the shard's mutex.
    prev: UnsafeCell<*const TrackedLinks>,
    next: UnsafeCell<*const TrackedLinks>,
    /// The list the object is in; null for an untracked object (a leaf value). Written once,
    /// before the object is shared.
    shard: UnsafeCell<*const Shard>,
    /// The collector's word: `index << state::SHIFT | flags` during a collection (the object's
    /// place among the examined ones, and the marking engine's mark bit, the top one), 0 between
    /// collections, [`state::DEAD`] once the object's value is (being) torn down by a collection.
    /// An atomic because blocking threads may read `DEAD` (on dereference) while the collector
    /// writes it.
    state: AtomicUsize,
}

// SAFETY: `prev`, `next` and `shard` are read and written only by a thread holding the mutex of
// the object's shard (or, for `shard`, before the object is shared with another thread); `state`
// is atomic.
unsafe impl Sync for TrackedLinks {}
// SAFETY: as for `Sync`; the raw pointers are only list links.
unsafe impl Send for TrackedLinks {}

/// Flags of the collector's state word.
pub(crate) mod state {
    /// In the set the current collection examines (its count was not zero).
    pub(crate) const EXAMINED: usize = 1;
    /// Found garbage: the value is being, or has been, dropped by the collector.
    pub(crate) const DEAD: usize = 2;
    /// The object's index among the examined objects starts at this bit.
    pub(crate) const SHIFT: u32 = 2;
}

impl TrackedLinks {
    /// Links of an object in no list.
    pub(crate) const fn new() -> Self {
        TrackedLinks {
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
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

    /// The state word itself, for the marking engine (which owns its top bit).
    #[inline(always)]
    pub(crate) fn state_word(&self) -> &AtomicUsize {
        &self.state
    }

    /// Whether a collection found the object garbage (its value is dropped or being dropped).
    #[inline(always)]
    pub(crate) fn is_dead(&self) -> bool {
        self.state() & state::DEAD != 0
    }
}

/// One list of tracked objects.
pub(crate) struct Shard {
    list: Mutex<List>,
}

/// The objects of a shard, and its part of the allocation count that schedules collections.
pub(crate) struct List {
    head: *const TrackedLinks,
    len: usize,
    /// Tracked allocations minus tracked frees since this shard last reported to the scheduler.
    pub(crate) unreported: isize,
}

// SAFETY: the raw pointers are links to objects whose lists are only touched under the mutex.
unsafe impl Send for List {}

impl Shard {
    /// A new, empty shard, for the program's lifetime (shards are reused, never freed: objects
    /// point to theirs).
    pub(crate) fn leak() -> &'static Shard {
        Box::leak(Box::new(Shard {
            list: Mutex::new(List {
                head: ptr::null(),
                len: 0,
                unreported: 0,
            }),
        }))
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
        self.len
    }

    /// Adds `obj` to this list, which belongs to `shard`.
    ///
    /// # Safety
    ///
    /// `obj` is a live object in no list, not yet shared with another thread; `self` is
    /// `shard`'s list, locked by the caller.
    pub(crate) unsafe fn push(&mut self, shard: &'static Shard, obj: NonNull<TrackedLinks>) {
        // SAFETY: `obj` is live and not shared yet, so its links are the caller's alone.
        unsafe {
            let links = obj.as_ref();
            *links.shard.get() = shard;
            *links.prev.get() = ptr::null();
            *links.next.get() = self.head;
            if let Some(head) = self.head.as_ref() {
                *head.prev.get() = obj.as_ptr();
            }
        }
        self.head = obj.as_ptr();
        self.len += 1;
    }

    /// Removes `obj` from this list.
    ///
    /// # Safety
    ///
    /// `obj` is live and in this list, which the caller has locked.
    pub(crate) unsafe fn unlink(&mut self, obj: NonNull<TrackedLinks>) {
        // SAFETY: `obj` and its neighbours are live members of this locked list.
        unsafe {
            let links = obj.as_ref();
            let prev = *links.prev.get();
            let next = *links.next.get();
            match prev.as_ref() {
                Some(prev) => *prev.next.get() = next,
                None => self.head = next,
            }
            if let Some(next) = next.as_ref() {
                *next.prev.get() = prev;
            }
            *links.prev.get() = ptr::null();
            *links.next.get() = ptr::null();
        }
        self.len -= 1;
    }

    /// Calls `f` on every object of the list, in list order.
    ///
    /// # Safety
    ///
    /// The caller has locked the list, and `f` does not unlink any object but the one it is given.
    pub(crate) unsafe fn for_each(&self, mut f: impl FnMut(NonNull<TrackedLinks>)) {
        let mut at = self.head;
        while let Some(obj) = NonNull::new(at.cast_mut()) {
            // SAFETY: `obj` is a live member of the locked list; its successor is read before
            // `f` may unlink it.
            at = unsafe { *obj.as_ref().next.get() };
            f(obj);
        }
    }
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
