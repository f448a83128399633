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

use std::fmt;

use gc_core::header::flags;
use gc_core::{CollectionRecord, GenerationStats, ThresholdError, Trace};

use crate::any::{GcAny, Referents};
pub use crate::callbacks::{CallbackId, CallbackInfo, Phase};
use crate::config::{ConfigError, HeapConfig};
pub use crate::debug::{
    DEBUG_COLLECTABLE, DEBUG_LEAK, DEBUG_SAVEALL, DEBUG_STATS, DEBUG_UNCOLLECTABLE,
};
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
/// Afterwards the heap's allocator gives memory back, because this is when a program expects its
/// memory to go down: what it keeps empty for reuse
/// ([`Allocator::release_empty`](gc_core::Allocator::release_empty): the pool allocator's spare
/// arenas and empty pools) and, when less than a quarter of its resident memory holds objects, the
/// free pages inside partly used pools as well (as [`trim`] does). Automatic collections give
/// nothing back.
///
/// # Panics
///
/// If a `Drop` impl of a garbage object panicked: the rest of the garbage is freed first, then
/// the first panic is resumed here.
pub fn collect() -> usize {
    Heap::with(|heap| heap.collect_explicit(heap.generation_count() - 1))
}

/// Collects `generation` and the younger ones; returns the number of unreachable objects found.
/// Collecting the oldest generation is a full collection and gives memory back as [`collect`]
/// does.
pub fn collect_generation(generation: usize) -> Result<usize, GenerationError> {
    Heap::with(|heap| {
        check_generation(heap, generation)?;
        Ok(heap.collect_explicit(generation))
    })
}

fn check_generation(heap: &Heap, generation: usize) -> Result<(), GenerationError> {
    let generations = heap.generation_count();
    if generation < generations {
        Ok(())
    } else {
        Err(GenerationError {
            generation,
            generations,
        })
    }
}

/// A generation number the current schedule does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerationError {
    /// The generation asked for.
    pub generation: usize,
    /// How many generations the schedule has.
    pub generations: usize,
}

impl fmt::Display for GenerationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid generation {}: this heap's schedule has generations 0 to {}",
            self.generation,
            self.generations - 1
        )
    }
}

impl std::error::Error for GenerationError {}

/// The collection thresholds, one per generation, as `gc.get_threshold()`. Empty for the manual
/// schedule.
pub fn get_threshold() -> Vec<usize> {
    Heap::with(|heap| heap.thresholds())
}

/// Sets the first `thresholds.len()` thresholds, as `gc.set_threshold(t0[, t1[, t2]])`; a
/// threshold of 0 for generation 0 turns automatic collection off.
pub fn set_threshold(thresholds: &[usize]) -> Result<(), ThresholdError> {
    Heap::with(|heap| heap.set_thresholds(thresholds))
}

/// Per-generation totals since the heap was configured, as `gc.get_stats()`: `collections`,
/// `collected`, `uncollectable` (and gclab's `examined` and `pause`).
pub fn get_stats() -> Vec<GenerationStats> {
    Heap::with(|heap| heap.stats().generations)
}

/// Moves every tracked object into the permanent generation, which collections never examine
/// (`gc.freeze()`, for fork-heavy servers in CPython; here to keep a large static heap out of
/// every full collection).
pub fn freeze() {
    Heap::with(|heap| heap.freeze())
}

/// Moves the permanent generation back into the oldest generation.
pub fn unfreeze() {
    Heap::with(|heap| heap.unfreeze())
}

/// The number of objects in the permanent generation.
pub fn get_freeze_count() -> usize {
    Heap::with(|heap| heap.freeze_count())
}

/// Handles to the objects the collector tracks: in `generation`, or in every generation (the
/// permanent one excluded) for `None`. Each handle keeps its object alive while it is held.
pub fn get_objects(generation: Option<usize>) -> Result<Vec<GcAny>, GenerationError> {
    Heap::with(|heap| {
        if let Some(g) = generation {
            check_generation(heap, g)?;
        }
        Ok(heap.objects(generation))
    })
}

/// The tracked objects that reference `object` directly, each once (`gc.get_referrers`). Walks
/// the whole heap: a debugging tool, not for production paths. Objects whose `GcCell` is mutably
/// borrowed at the time cannot be read and are not reported.
pub fn get_referrers<T: Trace + 'static>(object: &Gc<T>) -> Vec<GcAny> {
    Heap::with(|heap| heap.referrers(Gc::object(object)))
}

/// Sets the debugging flags ([`DEBUG_STATS`], [`DEBUG_COLLECTABLE`], [`DEBUG_UNCOLLECTABLE`],
/// [`DEBUG_SAVEALL`], [`DEBUG_LEAK`]); unknown bits are refused (returned as the error).
pub fn set_debug(flags: u32) -> Result<(), u32> {
    Heap::with(|heap| heap.set_debug(flags))
}

/// The debugging flags.
pub fn get_debug() -> u32 {
    Heap::with(|heap| heap.debug())
}

/// Registers a function called at the start and the stop of every collection (`gc.callbacks`).
/// A callback that panics does not stop the others or the collection; the panic reaches the
/// caller of the collection once the heap is consistent. Calling `collect` from a callback
/// returns 0 (no recursion).
pub fn add_callback(callback: impl FnMut(Phase, &CallbackInfo) + 'static) -> CallbackId {
    Heap::with(|heap| heap.callbacks().add(Box::new(callback)))
}

/// Unregisters a callback; `false` if it was not registered.
pub fn remove_callback(id: CallbackId) -> bool {
    Heap::with(|heap| heap.callbacks().remove(id))
}

/// `gc.garbage`: the unreachable objects that [`DEBUG_SAVEALL`] kept instead of freeing.
pub fn garbage() -> Vec<GcAny> {
    Heap::with(|heap| heap.garbage())
}

/// Empties `gc.garbage` (Python's `gc.garbage.clear()`), returning its handles; drop them and run
/// a collection (without `DEBUG_SAVEALL`) to free the objects.
pub fn take_garbage() -> Vec<GcAny> {
    Heap::with(|heap| heap.take_garbage())
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
    let mut referents = Referents(Vec::new());
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

/// A report of the heap allocator's memory in the spirit of `sys._debugmallocstats()`: for the
/// pool allocator, arenas, pools per size class, blocks in use and free, bytes mapped and released
/// to the OS. `DEBUG_STATS` prints it after every full collection.
pub fn debug_malloc_stats() -> String {
    Heap::with(|heap| heap.allocator_report())
}

/// Gives the memory the heap's allocator holds but does not use back to the operating system,
/// page by page, and returns the bytes released. With the pool allocator this is what makes
/// "`del`, then `collect()`" lower the resident memory when a few survivors are spread over many
/// pools (an arena goes back by itself only once it is entirely empty). The system allocator
/// releases nothing here.
pub fn trim() -> usize {
    Heap::with(|heap| heap.trim())
}

/// A snapshot of the heap's counters.
pub fn stats() -> HeapStats {
    Heap::with(|heap| heap.stats())
}

/// Restarts the peak measurements (live bytes, tracked objects) from the current values.
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
