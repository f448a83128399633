//! The `gc` module: Python's `gc` interface to the current thread's heap.
//!
//! ```
//! use gc_refcount::{gc, Gc, GcCell, Trace};
//!
//! #[derive(Trace)]
//! struct List { items: GcCell<Vec<Gc<List>>> }
//!
//! let l = Gc::new(List { items: GcCell::new(Vec::new()) });
//! l.items.borrow_mut().push(l.clone()); // l.append(l)
//! assert!(gc::is_tracked(&l));
//! assert_eq!(gc::get_referents(&l).len(), 1);
//! drop(l);
//! assert_eq!(gc::collect(), 1);
//! ```

use gc_core::header::flags;
use gc_core::{CollectionRecord, Edge, Trace, Visitor};

use crate::any::GcAny;
use crate::config::{ConfigError, HeapConfig};
use crate::handle::Gc;
use crate::heap::Heap;
use crate::stats::HeapStats;

/// Runs a full collection (every generation) and returns the number of unreachable objects it
/// found, as CPython's `gc.collect()` does. Those objects have been dropped and freed when it
/// returns (unless a `Drop` resurrected one; see the crate docs).
///
/// Under the `none` detector ([`NoCycles`](crate::NoCycles)) it finds nothing and returns 0. Called
/// while a collection is already running (from a `Drop`), it returns 0 at once.
///
/// # Panics
///
/// If a `Drop` impl of a garbage object panicked: the rest of the garbage is freed first, then
/// the first panic is resumed here.
pub fn collect() -> usize {
    Heap::with(|heap| heap.collect(heap.generation_count() - 1))
}

/// Collects `generation` and the younger ones. `None` if the schedule has no such generation.
pub fn collect_generation(generation: usize) -> Option<usize> {
    Heap::with(|heap| (generation < heap.generation_count()).then(|| heap.collect(generation)))
}

/// Turns automatic collection on.
pub fn enable() {
    Heap::with(|heap| heap.set_enabled(true))
}

/// Turns automatic collection off; [`collect`] still works.
pub fn disable() {
    Heap::with(|heap| heap.set_enabled(false))
}

/// Whether automatic collection is on.
pub fn isenabled() -> bool {
    Heap::with(|heap| heap.is_enabled())
}

/// The reference count as Python's `sys.getrefcount` shows it: the strong count plus one for the
/// argument itself (Python counts the temporary reference the call holds; gclab adds the same one
/// so the numbers read alike). A `Gc` held in one variable gives 2.
pub fn getrefcount<T: Trace + 'static>(object: &Gc<T>) -> usize {
    Gc::strong_count(object) + 1
}

/// Whether the cycle collector tracks the object: true for containers (types that can hold a
/// `Gc`), false for leaves such as numbers and strings — as in CPython.
pub fn is_tracked<T: Trace + 'static>(object: &Gc<T>) -> bool {
    object.header().has(flags::TRACKED)
}

/// The objects `object` references directly, with multiplicity, in trace order. Empty for leaves.
pub fn get_referents<T: Trace + 'static>(object: &Gc<T>) -> Vec<GcAny> {
    struct Collect(Vec<GcAny>);
    impl Visitor for Collect {
        fn visit(&mut self, edge: Edge) {
            // SAFETY: an edge is backed by a strong count held by the traced value, which the
            // argument keeps alive for the whole call.
            self.0.push(unsafe { GcAny::retain(edge) });
        }
    }
    let mut referents = Collect(Vec::new());
    object.trace_value(&mut referents);
    referents.0
}

/// The number of objects the cycle collector tracks on this thread.
pub fn tracked_count() -> usize {
    Heap::with(|heap| heap.tracked())
}

/// The counts per generation (`count[0]` is tracked allocations minus deallocations since the
/// last young collection), like `gc.get_count()`.
pub fn get_count() -> Vec<usize> {
    Heap::with(|heap| heap.counts())
}

/// Configures this thread's heap. Possible before the thread's first allocation, or later once
/// every object of the heap has been freed; otherwise [`ConfigError::HeapInUse`] and the heap is
/// unchanged.
pub fn configure(config: HeapConfig) -> Result<(), ConfigError> {
    Heap::with(|heap| heap.configure(config))
}

/// Configures this thread's heap by name (see [`HeapConfig::from_name`]).
pub fn configure_by_name(name: &str) -> Result<(), ConfigError> {
    configure(HeapConfig::from_name(name)?)
}

/// The current configuration's name.
pub fn config_name() -> String {
    Heap::with(|heap| heap.config_name())
}

/// A snapshot of the heap's counters.
pub fn stats() -> HeapStats {
    Heap::with(|heap| heap.stats())
}

/// Restarts the peak-live-bytes measurement from the current live bytes.
pub fn reset_peak() {
    Heap::with(|heap| heap.reset_peak())
}

/// Turns the per-collection log on or off (off by default; turning it off discards it).
pub fn record_collections(on: bool) {
    Heap::with(|heap| heap.record_collections(on))
}

/// Takes the collections logged since the last call (see [`record_collections`]).
pub fn take_collection_records() -> Vec<CollectionRecord> {
    Heap::with(|heap| heap.take_records())
}
