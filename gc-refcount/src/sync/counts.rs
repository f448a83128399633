//! Counting disciplines for thread-shared objects: the [`Counts`] trait, and its simplest
//! implementation, [`AtomicCounts`] — one atomic word, updated the way `std::sync::Arc` updates
//! its strong count.
//!
//! A discipline is the type of the counts stored in every object's header
//! ([`SharedHeader`]); a handle `Gc<T, C>` is monomorphised for it, so the hot paths (clone,
//! drop) are direct calls, with no dispatch. The other implementation is
//! [`BiasedCounts`](super::BiasedCounts).

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use gc_core::sync::{AtomicWord, Std};

use super::object::{free, Published, SharedHeader};
use super::runtime::Runtime;

/// A reference-counting discipline for thread-shared objects.
///
/// ## Memory ordering
///
/// As `Arc`'s: an increment made by a thread that holds a reference may be relaxed; every
/// decrement is a release, and the decrement that decides to free acquires all earlier ones, so
/// that every use of the value by any thread happens-before its drop.
///
/// # Safety
///
/// An implementer promises, and `Gc`, `AtomicGc` and the merges rely on it for memory safety:
///
/// 1. **Exactly once, never early.** [`decrement`](Counts::decrement) frees the object (with
///    `free`) exactly when the last reference is given up — the references made by
///    [`new`](Counts::new), [`increment`](Counts::increment) and successful
///    [`try_increment`](Counts::try_increment)s, less those given up — whichever thread gives it
///    up and whenever a deferred part of the work (a merge at a [`safepoint`](Counts::safepoint))
///    happens; never twice and never while a reference remains.
/// 2. **No resurrection.** [`try_increment`](Counts::try_increment) fails once the object has
///    been, or is being, freed, and may only fail then (or, spuriously, while its address is no
///    longer in the slot it was read from).
/// 3. **Published means deferred.** After [`publish`](Counts::publish), the free passes
///    `Published::Yes`, so the memory outlives every loader that may still read the counts.
pub unsafe trait Counts: Sized + Send + Sync + 'static {
    /// The runtime the counts run on: atomics, thread identity, memory.
    type Runtime: Runtime;

    /// The counts of a new object: one reference, held by the current thread (which the
    /// discipline may make the object's owner).
    fn new() -> Self;

    /// Adds a reference. The caller holds one, so the object is alive.
    fn increment(&self);

    /// Adds a reference if the object is still alive, for a caller that holds none but read the
    /// object's address from an `AtomicGc` while pinned (so that the header's memory is still
    /// allocated, even if the object is dead). Returns whether it did.
    fn try_increment(&self) -> bool;

    /// Gives up one reference; frees the object if it was the last.
    ///
    /// # Safety
    ///
    /// `obj` is a live object of this discipline, and the caller holds a reference to it, which
    /// it gives up: it must not use `obj` afterwards.
    unsafe fn decrement(obj: NonNull<SharedHeader<Self>>);

    /// Records that the object is about to be stored in an `AtomicGc` (see rule 3). Called by a
    /// thread holding a reference, before the store.
    fn publish(&self);

    /// The number of references, as `Arc::strong_count`: exact when no other thread changes it,
    /// a snapshot otherwise.
    fn strong_count(&self) -> usize;

    /// The references the shared collector must assume exist: the
    /// [`strong_count`](Counts::strong_count), plus any reference that no handle stands for but
    /// that some thread still holds and will give up later (biased counting's queued entry).
    ///
    /// A thread in a blocking section, or one that is exiting, keeps running while a collection
    /// examines the heap, and may be holding such a reference: between queuing an object and
    /// posting it to the owner's mailbox, in the middle of merging it for an owner that has
    /// exited, or with its own mailbox's entries taken out for a last merge. Counted as a
    /// reference from outside, it keeps the object alive for that collection, so nothing that an
    /// entry points to is ever torn down. By default, the strong count.
    fn collector_count(&self) -> usize {
        self.strong_count()
    }

    /// Does the deferred work queued to the current thread (biased counting merges). Called at
    /// every allocation and by [`sync::safepoint`](super::safepoint).
    fn safepoint();

    /// The shared collector found the object garbage and is about to tear it down: turn the
    /// counts into a plain shared count of [`strong_count`](Counts::strong_count) plus one (the
    /// collector's hold, given up later by [`decrement`](Counts::decrement)). From then on any
    /// thread's decrement takes the shared path, and the last one frees the object.
    ///
    /// # Safety
    ///
    /// The object is garbage that the collection has not torn down yet: no thread holds a
    /// reference to it except through other garbage, so no thread but the caller touches its
    /// counts (the world may be running: no thread can reach the object), and what its owner
    /// and the other threads did to them happens-before the call (the collection stopped the
    /// world since). No deferred work is pending for it: it was garbage by its
    /// [`collector_count`](Counts::collector_count), which counts such work as a reference.
    unsafe fn hold_for_teardown(&self);
}

/// Plain atomic reference counts, as `std::sync::Arc`: every clone is an atomic increment and
/// every drop an atomic decrement, on whichever thread. One word: the count, with its top bit
/// set once the object has been published in an `AtomicGc`.
pub struct AtomicCounts<R: Runtime = Std> {
    strong: R::AtomicUsize,
    _runtime: PhantomData<R>,
}

/// Top bit of the count word: the object has been stored in an `AtomicGc`.
const PUBLISHED: usize = 1 << (usize::BITS - 1);
/// The bits that count.
const COUNT: usize = !PUBLISHED;
/// Beyond this many references, abort, as `Arc` does: the count must never wrap, and threads
/// racing past the check cannot add 2^62 more before one of them aborts.
const MAX_COUNT: usize = COUNT >> 1;

impl<R: Runtime> AtomicCounts<R> {
    #[inline(always)]
    fn published(word: usize) -> Published {
        if word & PUBLISHED != 0 {
            Published::Yes
        } else {
            Published::No
        }
    }
}

// SAFETY: [1] one atomic word counts every reference: `new` starts it at 1, `increment` and a
// successful `try_increment` add 1, `decrement` subtracts 1 and frees exactly when it saw 1 (only
// one decrement can see the last reference go); [2] `try_increment` never adds to 0, and 0 is
// final; [3] `publish` sets the top bit before the object is stored, and the last decrement reads
// the word (an RMW reads the latest value) and passes the bit on.
unsafe impl<R: Runtime> Counts for AtomicCounts<R> {
    type Runtime = R;

    #[inline]
    fn new() -> Self {
        AtomicCounts {
            strong: R::AtomicUsize::new(1),
            _runtime: PhantomData,
        }
    }

    #[inline]
    fn increment(&self) {
        // Relaxed, as `Arc::clone`: the caller's own reference keeps the object alive, and
        // passing the new one to another thread synchronises by other means.
        let old = self.strong.fetch_add(1, Relaxed);
        if old & COUNT > MAX_COUNT {
            std::process::abort();
        }
    }

    #[inline]
    fn try_increment(&self) -> bool {
        // Acquire: a zero read here synchronises with the decrement that made it, which follows
        // the removal of the object from the slot the caller read it from — so the caller's
        // next read of that slot sees the removal (loom found a loader spinning on a stale slot).
        let mut word = self.strong.load(Acquire);
        loop {
            if word & COUNT == 0 {
                return false;
            }
            if word & COUNT > MAX_COUNT {
                std::process::abort();
            }
            match self
                .strong
                .compare_exchange_weak(word, word + 1, Acquire, Acquire)
            {
                Ok(_) => return true,
                Err(seen) => word = seen,
            }
        }
    }

    #[inline]
    unsafe fn decrement(obj: NonNull<SharedHeader<Self>>) {
        // SAFETY: the caller holds a reference, so the object is allocated.
        let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
        let old = counts.strong.fetch_sub(1, Release);
        if old & COUNT != 1 {
            return;
        }
        // Acquire every earlier decrement's release (`Arc` uses a fence; an acquire load of the
        // same word is equivalent and is what loom models).
        let word = counts.strong.load(Acquire);
        // SAFETY: this decrement took the count from 1 to 0: no reference remains, and
        // `try_increment` never adds to 0, so none can be made.
        unsafe { free(obj, Self::published(word)) };
    }

    #[inline]
    fn publish(&self) {
        self.strong.fetch_or(PUBLISHED, Relaxed);
    }

    #[inline]
    fn strong_count(&self) -> usize {
        self.strong.load(Relaxed) & COUNT
    }

    #[inline]
    fn safepoint() {}

    unsafe fn hold_for_teardown(&self) {
        self.strong.fetch_add(1, Relaxed);
    }
}
