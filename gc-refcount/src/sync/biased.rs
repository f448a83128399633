//! Biased reference counting (Choi, Shull and Torrellas, "Biased Reference Counting: Minimizing
//! Atomic Operations in Garbage Collection", PACT 2018), as free-threaded CPython (PEP 703) does
//! it in `Include/internal/pycore_object.h` and `Python/brc.c`.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use gc_core::sync::{AtomicWord, Std};

use super::counts::Counts;
use super::object::{free, Published, SharedHeader};
use super::runtime::{Runtime, ANONYMOUS};

const QUEUED: usize = 1;
const MERGED: usize = 2;
const PUBLISHED: usize = 4;
const FLAGS: usize = QUEUED | MERGED | PUBLISHED;
const SHIFT: u32 = 3;
/// One reference in the shared word.
const ONE: usize = 1 << SHIFT;
/// Beyond this many references on either count, abort: neither may wrap.
const MAX_COUNT: isize = isize::MAX >> (SHIFT + 1);

/// The signed count of a shared word.
#[inline(always)]
fn count(shared: usize) -> isize {
    (shared as isize) >> SHIFT
}

/// A shared word with `count` and `flags`.
#[inline(always)]
fn word(count: isize, flags: usize) -> usize {
    debug_assert_eq!(flags & !FLAGS, 0);
    ((count << SHIFT) as usize) | flags
}

#[inline(always)]
fn published(shared: usize) -> Published {
    if shared & PUBLISHED != 0 {
        Published::Yes
    } else {
        Published::No
    }
}

/// Biased reference counts: a non-atomic count for the owner thread, an atomic one for the
/// others (see below). Three words: owner, owner's count, shared word.
///
/// ## The model
///
/// Most objects are only ever touched by the thread that made them. Biased counting makes that
/// thread the object's *owner* and gives it a count of its own, updated with plain loads and
/// stores; every other thread updates a second, atomic, *shared* count. The number of references
/// is the sum of the two. No single thread sees the sum move, so deciding "this was the last
/// reference" takes a hand-over:
///
/// - **The owner's count reaches zero** (the owner dropped what it counted): if the shared word is
///   zero — no other reference, nothing queued, never published — the object is freed at once.
///   Otherwise the owner gives the object up: it clears the owner field and sets *merged* in the
///   shared word, which from then on holds the whole count; whoever takes it to zero frees.
/// - **A shared count would go below zero** (a thread dropped a reference the owner counted):
///   the thread does not subtract; it marks the object *queued* and sends it to its owner's
///   mailbox, the queued entry holding the reference it gave up. At its next safepoint — its next
///   allocation or [`sync::safepoint`](super::safepoint) call — the owner *merges*: it folds its
///   count into the shared word, less one for the queued reference, marks the object merged, and
///   frees it if the sum is zero. After that first queuing, further drops by other threads just
///   subtract (the shared count may go negative: the owner's count still covers it).
/// - **The owner has exited**: the sender finds no mailbox, or a closed one, and merges itself
///   (the owner closes its mailbox under the mailbox's lock after its last count update, which
///   makes the dead owner's count visible to the sender; owner ids are never reused).
///
/// A queued object stays allocated until its owner merges it, however many threads drop it, so a
/// thread that frees its objects across threads and whose owner never reaches a safepoint holds
/// them until it does (or exits). The shared collector merges every registered thread's mailbox
/// with the world stopped, before it counts (`merge_for_collector`). An entry
/// outside any mailbox — in the hands of an owner that took its mailbox to exit, or of a sender
/// about to post it or to merge it for an exited owner — counts as a reference from outside the
/// heap ([`Counts::collector_count`](super::counts::Counts::collector_count)), so its object
/// survives that collection. Those threads may be running during a collection (in a blocking
/// section, or exiting); an entry's object is never torn down under them. Merges themselves
/// never overlap a collection: an owner merges at a safepoint, and a merge anywhere else (an
/// exiting owner's last one, a sender's for an exited owner) holds heap access.
///
/// ## The shared word
///
/// ```text
/// shared = count << 3 | PUBLISHED (4) | MERGED (2) | QUEUED (1)      (count: signed)
/// ```
///
/// `QUEUED`: an entry in the owner's mailbox holds one reference (cleared when it is merged).
/// `MERGED`: the owner gave up its count; the shared count is the whole count, and `MERGED` with
/// count 0 means dead. `PUBLISHED`: stored in an `AtomicGc` once — a loader may try to increment
/// it, which forbids the owner's plain-load fast path and makes the free epoch-deferred.
///
/// ## Memory ordering
///
/// The owner's count is an atomic word read and written with relaxed loads and stores — the cost
/// of plain ones on every mainstream target, as CPython's `_Py_atomic_store_uint32_relaxed` — so
/// that a dead owner's count can be read by another thread without a data race. Shared-word
/// updates follow `Arc`: relaxed increments, release decrements, acquire before freeing.
pub struct BiasedCounts<R: Runtime = Std> {
    /// The owner's id ([`Runtime::current_thread`]), 0 once merged.
    owner: R::AtomicUsize,
    /// The owner's count. Relaxed loads and stores only, by the owner — or by whoever merges for
    /// an owner that has exited.
    local: R::AtomicUsize,
    /// The other threads' count and the flags (see [`BiasedCounts`]).
    shared: R::AtomicUsize,
    _runtime: PhantomData<R>,
}

/// An object queued to its owner: the mailbox entry that holds one reference until the owner
/// merges it.
pub struct Queued<R: Runtime>(NonNull<SharedHeader<BiasedCounts<R>>>);

/// An object that a merge by the shared collector left with no reference: dead, still to be
/// freed, by [`Unreferenced::free`] (dropping one leaks the object).
pub(crate) struct Unreferenced<R: Runtime>(NonNull<SharedHeader<BiasedCounts<R>>>, Published);

impl<R: Runtime> Unreferenced<R> {
    /// Frees the object: drops its value on this thread and returns its memory.
    ///
    /// # Safety
    /// The world runs again (the stop that merged it has ended).
    pub(crate) unsafe fn free(self) {
        // SAFETY: merged with count 0 and not freed yet; the caller lets values drop.
        unsafe { free(self.0, self.1) };
    }
}

// SAFETY: a queued entry is a counted reference to a thread-shared object (`Send + Sync` values
// only: `Gc::new` requires it); whichever thread holds the entry may merge it.
unsafe impl<R: Runtime> Send for Queued<R> {}

impl<R: Runtime> BiasedCounts<R> {
    /// The owner merges its count into the shared word because that count reached zero.
    ///
    /// # Safety
    /// `obj` is live, owned by the current thread, whose count of it has just reached zero.
    unsafe fn merge_zero_local(obj: NonNull<SharedHeader<Self>>) {
        // SAFETY: the shared word still counts every other reference (or the object is dead only
        // once this function says so), so the memory is allocated.
        let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
        let mut shared = counts.shared.load(Acquire);
        if shared == 0 {
            // No other reference, nothing queued, never published (so no loader can be trying
            // to increment it): the acquire load saw every other thread's last decrement.
            // SAFETY: the sum of the counts is zero and no one can add to it.
            unsafe { free(obj, Published::No) };
            return;
        }
        // Give the object up before merging, so that a thread about to queue it to us sees the
        // owner gone and drops its reference on the shared word instead.
        counts.owner.store(0, Relaxed);
        loop {
            let merged = shared | MERGED;
            match counts
                .shared
                .compare_exchange_weak(shared, merged, AcqRel, Relaxed)
            {
                Ok(_) => {
                    if count(merged) == 0 {
                        debug_assert_eq!(merged & QUEUED, 0, "a queued entry holds a reference");
                        // SAFETY: merged with count 0: the last reference is gone; `try_increment`
                        // refuses a merged zero.
                        unsafe { free(obj, published(merged)) };
                    }
                    return;
                }
                Err(seen) => shared = seen,
            }
        }
    }

    /// Merges a queued entry: folds the owner's count into the shared word, less the entry's
    /// reference, and frees the object if nothing remains. On the owner thread, or on any thread
    /// once the owner has exited.
    ///
    /// # Safety
    /// `obj` is live and was queued (its `QUEUED` entry is being consumed by this call); if the
    /// current thread is not the owner, the owner has exited and its count updates
    /// happen-before this call.
    unsafe fn merge_queued(obj: NonNull<SharedHeader<Self>>) {
        // SAFETY: the caller's promise.
        if let Some(published) = unsafe { Self::fold_queued(obj) } {
            // SAFETY: merged with count 0: the last reference (the queued one) is gone.
            unsafe { free(obj, published) };
        }
    }

    /// [`merge_queued`](Self::merge_queued) without the free: returns how to free the object if
    /// the merge left no reference (the caller must then free it, once).
    ///
    /// # Safety
    /// As [`merge_queued`](Self::merge_queued).
    unsafe fn fold_queued(obj: NonNull<SharedHeader<Self>>) -> Option<Published> {
        // SAFETY: the queued entry holds a reference: the object is allocated.
        let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
        let local = counts.local.load(Relaxed) as isize;
        // Give the count up before the exchange publishes the merge: once it is merged with a
        // count of 1, another thread may take it to zero and free the object at once, so this
        // thread must not touch the header after the exchange (loom found that it did).
        counts.local.store(0, Relaxed);
        counts.owner.store(0, Relaxed);
        let mut shared = counts.shared.load(Relaxed);
        let total = loop {
            let total = count(shared) + local - 1;
            let merged = word(total, (shared & PUBLISHED) | MERGED);
            match counts
                .shared
                .compare_exchange_weak(shared, merged, AcqRel, Relaxed)
            {
                Ok(_) => break total,
                Err(seen) => shared = seen,
            }
        };
        debug_assert!(total >= 0, "merged count below zero: {total}");
        (total == 0).then(|| published(shared))
    }

    /// Gives up the reference a queued entry would have held, on the shared word, because the
    /// owner gave the object up while it was being queued.
    ///
    /// # Safety
    /// `obj` is live and `QUEUED` was set by the caller, which holds that reference.
    unsafe fn drop_queued_reference(obj: NonNull<SharedHeader<Self>>) {
        // SAFETY: the caller's reference keeps the object allocated.
        let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
        let mut shared = counts.shared.load(Relaxed);
        loop {
            let new = (shared & !QUEUED).wrapping_sub(ONE);
            match counts
                .shared
                .compare_exchange_weak(shared, new, Release, Relaxed)
            {
                Ok(_) => {
                    if new & MERGED != 0 && count(new) == 0 {
                        let _ = counts.shared.load(Acquire);
                        // SAFETY: merged with count 0: the last reference is gone.
                        unsafe { free(obj, published(new)) };
                    }
                    return;
                }
                Err(seen) => shared = seen,
            }
        }
    }

    /// Merges every entry of `items` (the contents of stopped threads' mailboxes) for the shared
    /// collector, with the world stopped, and returns the objects the merges left without a
    /// reference. They are freed by [`Unreferenced::free`] once the world runs again (a free runs
    /// the value's `Drop`, which must not run while other threads are stopped).
    ///
    /// # Safety
    /// The world is stopped, and every entry comes from the mailbox of a registered thread: the
    /// owner is stopped at a safepoint or in a blocking section, where its own count does not
    /// change, and its count updates happen-before the stop.
    pub(crate) unsafe fn merge_for_collector(items: Vec<Queued<R>>) -> Vec<Unreferenced<R>> {
        items
            .into_iter()
            .filter_map(|Queued(obj)| {
                // SAFETY: the caller's promise; the entry is consumed here.
                unsafe { Self::fold_queued(obj) }.map(|published| Unreferenced(obj, published))
            })
            .collect()
    }

    /// Merges every entry of `items` (a mailbox's contents) on the current thread, which is their
    /// owner or the owner's unregistration. If a value's `Drop` panics, the entries not yet
    /// merged are merged before the panic goes on.
    pub(crate) fn merge_all(mut items: Vec<Queued<R>>) {
        struct Rest<'a, R: Runtime>(&'a mut Vec<Queued<R>>);
        impl<R: Runtime> Drop for Rest<'_, R> {
            fn drop(&mut self) {
                while let Some(Queued(obj)) = self.0.pop() {
                    // SAFETY: as in `merge_all`'s loop.
                    unsafe { BiasedCounts::merge_queued(obj) };
                }
            }
        }
        let rest = Rest(&mut items);
        while let Some(Queued(obj)) = rest.0.pop() {
            // SAFETY: each entry came from this thread's mailbox: `send_to_owner` accepted it for
            // this thread, which is its owner (or is unregistering, having closed its mailbox).
            unsafe { Self::merge_queued(obj) };
        }
    }
}

// SAFETY: [1] every reference is counted once, in `local` (the owner's increments and `new`) or
// in the shared word (everyone else's), a queued entry keeping the reference it was given; the
// object is freed only by the thread that sees the merged total reach zero (`merge_zero_local`'s
// fast path: unmerged, shared word zero and the owner's count zero — nothing else exists), and
// merging happens once (`QUEUED` admits one entry, `MERGED` ends queuing). [2] `try_increment`
// refuses a merged zero and an unpublished zero, the only states in which the object can be
// freed. [3] `publish` sets `PUBLISHED` on the shared word, which disables the fast path, and
// every other free reads it from the CAS that decided it.
unsafe impl<R: Runtime> Counts for BiasedCounts<R> {
    type Runtime = R;

    #[inline]
    fn new() -> Self {
        let me = R::register_current_thread();
        let (owner, local, shared) = if me == ANONYMOUS {
            // An exiting thread owns nothing: the object is born merged.
            (0, 0, word(1, MERGED))
        } else {
            (me, 1, 0)
        };
        BiasedCounts {
            owner: R::AtomicUsize::new(owner),
            local: R::AtomicUsize::new(local),
            shared: R::AtomicUsize::new(shared),
            _runtime: PhantomData,
        }
    }

    #[inline]
    fn increment(&self) {
        if self.owner.load(Relaxed) == R::current_thread() {
            let local = self.local.load(Relaxed);
            if local as isize >= MAX_COUNT {
                std::process::abort();
            }
            self.local.store(local + 1, Relaxed);
        } else {
            let old = self.shared.fetch_add(ONE, Relaxed);
            if count(old) >= MAX_COUNT {
                std::process::abort();
            }
        }
    }

    #[inline]
    fn try_increment(&self) -> bool {
        if self.owner.load(Relaxed) == R::current_thread() {
            // Only the owner frees an unmerged object, and it is here, not freeing.
            self.increment();
            return true;
        }
        // Acquire, as `AtomicCounts::try_increment`: a dead zero read here makes the caller's next
        // read of its slot see the object's removal.
        let mut shared = self.shared.load(Acquire);
        loop {
            // Unpublished zero: the owner may free it with a plain load (CPython refuses it too).
            // Merged zero: dead.
            if shared == 0 || (shared & MERGED != 0 && count(shared) == 0) {
                return false;
            }
            if count(shared) >= MAX_COUNT {
                std::process::abort();
            }
            match self.shared.compare_exchange_weak(
                shared,
                shared.wrapping_add(ONE),
                Acquire,
                Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => shared = seen,
            }
        }
    }

    #[inline]
    unsafe fn decrement(obj: NonNull<SharedHeader<Self>>) {
        // SAFETY: the caller holds a reference: the object is allocated.
        let counts = unsafe { SharedHeader::from_ptr(obj) }.counts();
        if counts.owner.load(Relaxed) == R::current_thread() {
            let local = counts.local.load(Relaxed) - 1;
            counts.local.store(local, Relaxed);
            if local == 0 {
                // SAFETY: this thread owns `obj` and its count just reached zero.
                unsafe { Self::merge_zero_local(obj) };
            }
            return;
        }
        let mut shared = counts.shared.load(Relaxed);
        loop {
            let queue = shared & (QUEUED | MERGED) == 0 && count(shared) == 0;
            let new = if queue {
                shared | QUEUED
            } else {
                shared.wrapping_sub(ONE)
            };
            match counts
                .shared
                .compare_exchange_weak(shared, new, Release, Relaxed)
            {
                Ok(_) if queue => break,
                Ok(_) => {
                    if new & MERGED != 0 && count(new) == 0 {
                        let _ = counts.shared.load(Acquire);
                        // SAFETY: merged with count 0: the last reference is gone.
                        unsafe { free(obj, published(new)) };
                    }
                    return;
                }
                Err(seen) => shared = seen,
            }
        }
        // Queued: our reference now belongs to the queued entry.
        let owner = counts.owner.load(Acquire);
        if owner == 0 {
            // The owner gave the object up while we queued it: no merge will come, so drop the
            // entry's reference on the shared word.
            // SAFETY: we set `QUEUED` and hold its reference.
            unsafe { Self::drop_queued_reference(obj) };
            return;
        }
        if let Err(Queued(obj)) = R::send_to_owner(owner, Queued(obj)) {
            // The owner has exited; the failed send happens-after its last count update. This
            // thread may be in a blocking section, which a collection does not wait for: the
            // merge moves the owner's count into the shared word in two steps, and a collection
            // must not read the counts between them.
            let _access = R::enter_heap();
            // SAFETY: the entry is ours to merge, and the owner is gone.
            unsafe { Self::merge_queued(obj) };
        }
    }

    #[inline]
    fn publish(&self) {
        self.shared.fetch_or(PUBLISHED, Relaxed);
    }

    fn strong_count(&self) -> usize {
        let shared = self.shared.load(Acquire);
        let local = self.local.load(Relaxed) as isize;
        // A queued entry holds a reference that no handle stands for.
        let queued = (shared & QUEUED != 0) as isize;
        (count(shared) + local - queued).max(0) as usize
    }

    /// The strong count with a queued entry's reference in it. While a collection reads it, the
    /// owner's count does not change (the owner is parked, or in a blocking section where its
    /// updates take the shared path) and no merge runs (merges off a safepoint hold heap
    /// access), so the two loads make one count.
    fn collector_count(&self) -> usize {
        let shared = self.shared.load(Acquire);
        let local = self.local.load(Relaxed) as isize;
        (count(shared) + local).max(0) as usize
    }

    #[inline]
    fn safepoint() {
        let items = R::take_mailbox();
        if !items.is_empty() {
            Self::merge_all(items);
        }
    }

    unsafe fn hold_for_teardown(&self) {
        let total = self.strong_count() as isize + 1;
        let shared = self.shared.load(Acquire);
        // No other thread touches a garbage object — no thread can reach it, the owner
        // included — and what they did to its counts happens-before this (the caller's promise).
        self.owner.store(0, Relaxed);
        self.local.store(0, Relaxed);
        self.shared
            .store(word(total, (shared & PUBLISHED) | MERGED), Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_word_round_trips_negative_counts() {
        for c in [-3isize, -1, 0, 1, 7] {
            let w = word(c, QUEUED | PUBLISHED);
            assert_eq!(count(w), c);
            assert_eq!(w & FLAGS, QUEUED | PUBLISHED);
            assert_eq!(count(w.wrapping_sub(ONE)), c - 1);
        }
    }
}
