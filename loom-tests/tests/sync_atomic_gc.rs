//! Loom models of `AtomicGc` (`gc_refcount::sync`): a `load` racing the `store`, `swap` or
//! `compare_exchange` that drops the slot's last reference. The real `AtomicGc` and counting
//! disciplines on the loom runtime, whose slot is loom's `AtomicPtr` and whose reclamation is the
//! real crossbeam-epoch running on loom's atomics.
//!
//! That needs crossbeam's own cfg, so this file is compiled only with it:
//!
//! ```text
//! RUSTFLAGS="--cfg crossbeam_loom" CARGO_TARGET_DIR=target/crossbeam-loom \
//!     cargo test -p loom-tests --release --test sync_atomic_gc
//! ```
//!
//! (`.ci/run` does; a separate target directory, because the cfg rebuilds every crate.)
//!
//! Properties checked in every execution: the value is dropped exactly once; never while a
//! thread holds a handle (each holder checks before letting go, and the main thread reports it); and every allocation is freed
//! (loom's leak check — a deferred free that never ran would fail it). A use of the header's
//! memory after it was returned is not something loom observes; Miri runs the same code paths
//! natively (`tests/sync.rs`).
#![cfg(crossbeam_loom)]

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;

use gc_core::sync::Loom;
use gc_refcount::sync::{
    AtomicCounts, AtomicGc, BiasedCounts, Counts, Gc, Queued, Runtime, TrackedLinks,
};
use gc_refcount::{Trace, Visitor};
use loom_tests::{explore, loom_platform_with_word, FlawedWord, SPLIT_COMPARE_EXCHANGE};

/// Preemption bound: every interleaving of the load's read, pin and increment with the store's
/// swap and decrement, within a few seconds per model.
const BOUND: usize = 2;

/// A value that counts its drops in a std atomic (instrumentation, invisible to loom). It never
/// panics on a spawned loom thread — a panic there would unwind through loom's teardown — but
/// records what it saw for the model's main thread to check.
struct Probe {
    drops: Arc<AtomicUsize>,
    /// Set when a holder found the value dropped.
    seen_dead: Arc<AtomicBool>,
}

impl Probe {
    fn new(drops: &Arc<AtomicUsize>, seen_dead: &Arc<AtomicBool>) -> Probe {
        Probe {
            drops: Arc::clone(drops),
            seen_dead: Arc::clone(seen_dead),
        }
    }

    /// Records whether the value has been dropped while a handle to it is held.
    fn check_alive(&self) {
        if self.drops.load(SeqCst) != 0 {
            self.seen_dead.store(true, SeqCst);
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

// SAFETY: holds no managed handle.
unsafe impl Trace for Probe {
    const MAY_CONTAIN_GC: bool = false;
    fn trace(&self, _visitor: &mut dyn Visitor) {}
}

#[track_caller]
fn assert_dropped_once(drops: &AtomicUsize, seen_dead: &AtomicBool) {
    assert!(
        !seen_dead.load(SeqCst),
        "value dropped while a handle is held"
    );
    let n = drops.load(SeqCst);
    assert_eq!(n, 1, "value dropped {n} times, expected once");
}

/// What the racing writer does to the slot.
#[derive(Clone, Copy)]
enum Writer {
    Store,
    Swap,
    CompareExchange,
}

/// A loader races a writer that takes the slot's reference — the object's last one — out and
/// drops it. Generic over the discipline, so that the broken variant below runs it too.
fn load_races_last_reference<C: Counts>(writer: Writer) {
    let (drops, seen_dead) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let first = Gc::<Probe, C>::new_counted(Probe::new(&drops, &seen_dead));
    let slot = loom::sync::Arc::new(AtomicGc::new(Some(first.clone())));
    let loader = {
        let slot = loom::sync::Arc::clone(&slot);
        loom::thread::spawn(move || {
            if let Some(seen) = slot.load() {
                seen.check_alive();
                drop(seen);
            }
        })
    };
    match writer {
        Writer::Store => {
            drop(first);
            slot.store(None);
        }
        Writer::Swap => {
            let old = slot.swap(None).expect("the slot held the object");
            drop(first);
            old.check_alive();
            drop(old);
        }
        Writer::CompareExchange => {
            let old = slot
                .compare_exchange(Some(&first), None)
                .unwrap_or_else(|_| panic!("the slot held the object"));
            drop(first);
            drop(old);
        }
    }
    loader.join().unwrap();
    C::safepoint(); // biased counting: merge what the loader queued to this (owner) thread
    assert_dropped_once(&drops, &seen_dead);
}

#[test]
fn load_races_store_atomic_counts() {
    let n = explore(BOUND, || {
        load_races_last_reference::<AtomicCounts<Loom>>(Writer::Store)
    });
    println!("load_races_store (atomic counts): {n} executions");
}

#[test]
fn load_races_store_biased() {
    let n = explore(BOUND, || {
        load_races_last_reference::<BiasedCounts<Loom>>(Writer::Store)
    });
    println!("load_races_store (biased): {n} executions");
}

#[test]
fn load_races_swap_biased() {
    let n = explore(BOUND, || {
        load_races_last_reference::<BiasedCounts<Loom>>(Writer::Swap)
    });
    println!("load_races_swap (biased): {n} executions");
}

#[test]
fn load_races_compare_exchange_atomic_counts() {
    let n = explore(BOUND, || {
        load_races_last_reference::<AtomicCounts<Loom>>(Writer::CompareExchange)
    });
    println!("load_races_compare_exchange (atomic counts): {n} executions");
}

/// A loader and a store of a new object: the loader gets the old or the new object, alive; both
/// objects are dropped exactly once. (Two loaders take minutes at this bound: crossbeam-epoch's
/// own steps multiply the interleavings.)
#[test]
fn a_load_races_a_store_of_a_new_object() {
    let n = explore(BOUND, || {
        let (old_drops, new_drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let seen_dead = Arc::new(AtomicBool::new(false));
        let slot = loom::sync::Arc::new(AtomicGc::<Probe, AtomicCounts<Loom>>::new(Some(
            Gc::new_counted(Probe::new(&old_drops, &seen_dead)),
        )));
        let loader = {
            let slot = loom::sync::Arc::clone(&slot);
            loom::thread::spawn(move || {
                let seen = slot.load().expect("the slot is never empty");
                seen.check_alive();
            })
        };
        slot.store(Some(Gc::new_counted(Probe::new(&new_drops, &seen_dead))));
        loader.join().unwrap();
        assert_dropped_once(&old_drops, &seen_dead);
        drop(slot);
        assert_dropped_once(&new_drops, &seen_dead);
    });
    println!("a_load_races_a_store_of_a_new_object: {n} executions");
}

// --- the broken variant -----------------------------------------------------------------------

/// The broken word ([`SPLIT_COMPARE_EXCHANGE`]): a compare-and-swap that is a load, a compare and
/// a store. The increment of a `load` (`try_increment`, a CAS loop that refuses zero) can then
/// read 1, lose the race to the last decrement, and store 2 over the 0 — bringing a freed object
/// back.
type CheckThenSet = FlawedWord<SPLIT_COMPARE_EXCHANGE>;

loom_platform_with_word!(
    /// Loom's runtime with the broken compare-and-swap.
    BrokenCas,
    CheckThenSet
);

// SAFETY: deliberately broken (the counts' compare-and-swap is not atomic), for the model below
// only; identity is the loom runtime's. Memory is never returned, so no epoch is needed: and none
// is used, because loom drops crossbeam-epoch's global collector outside the execution when a
// model panics, which aborts the test instead of failing it.
unsafe impl Runtime for BrokenCas {
    type Guard = ();
    type Slot<T: 'static> = loom::sync::atomic::AtomicPtr<T>;
    type HeapAccess = ();

    fn current_thread() -> usize {
        <Loom as Runtime>::current_thread()
    }
    fn register_current_thread() -> usize {
        <Loom as Runtime>::register_current_thread()
    }
    fn send_to_owner(_owner: usize, obj: Queued<Self>) -> Result<(), Queued<Self>> {
        Err(obj) // never called: the model uses atomic counts
    }
    fn take_mailbox() -> Vec<Queued<Self>> {
        Vec::new()
    }
    // The system allocator: the object this variant frees twice or leaks must not trip loom's
    // leak check before the model's own assertion reports the bug.
    unsafe fn alloc(layout: std::alloc::Layout, _tracked: bool) -> *mut u8 {
        // SAFETY: the caller guarantees a non-zero size.
        unsafe { std::alloc::alloc(layout) }
    }
    unsafe fn dealloc(_ptr: std::ptr::NonNull<u8>, _layout: std::alloc::Layout) {
        // Leaked on purpose: a resurrected object is used after its "free".
    }
    unsafe fn dealloc_deferred(_ptr: std::ptr::NonNull<u8>, _layout: std::alloc::Layout) {
        // As `dealloc`.
    }
    fn pin() {}
    fn enter_heap() {}
    fn poll() {}
    unsafe fn track(_obj: std::ptr::NonNull<TrackedLinks>) {}
    unsafe fn untrack(_obj: std::ptr::NonNull<TrackedLinks>) {}
}

/// The `load_races_store_atomic_counts` model with the broken compare-and-swap: loom must find
/// the interleaving in which the loader's increment resurrects the object the store freed.
#[test]
#[should_panic(expected = "dropped")]
fn a_resurrecting_increment_is_caught() {
    explore(BOUND, || {
        load_races_last_reference::<AtomicCounts<BrokenCas>>(Writer::Store)
    });
}
