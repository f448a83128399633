//! Statistics: what each collection did, and running totals.

use std::time::Duration;

/// One collection, as the heap records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionRecord {
    /// The generation collected (younger ones were examined with it).
    pub generation: usize,
    /// Objects examined by the detector.
    pub examined: usize,
    /// Objects found unreachable: what `gc.collect()` returns.
    pub unreachable: usize,
    /// Of those, objects kept alive in `gc.garbage` (`DEBUG_SAVEALL`) instead of freed.
    pub uncollectable: usize,
    /// Of those, objects whose memory went back to the allocator during the collection.
    pub freed: usize,
    /// Unreachable objects that a `Drop` resurrected: their values are dropped, their memory waits
    /// for the last new handle.
    pub resurrected: usize,
    /// Wall time of the whole collection, detection and tear-down.
    pub pause: Duration,
    /// Whether the detector split its marking over several threads ([`Detection::split`]).
    ///
    /// [`Detection::split`]: crate::detector::Detection::split
    pub split: bool,
}

/// Totals for one generation, like an entry of CPython's `gc.get_stats()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerationStats {
    /// Collections of this generation.
    pub collections: usize,
    /// Unreachable objects found by them.
    pub collected: usize,
    /// Unreachable objects they kept in `gc.garbage` instead of freeing (`DEBUG_SAVEALL`).
    pub uncollectable: usize,
    /// Objects examined by them.
    pub examined: usize,
    /// Total pause time.
    pub pause: Duration,
    /// Collections whose detector split its marking over several threads.
    pub split_markings: usize,
}

impl GenerationStats {
    /// Adds one collection record.
    pub fn add(&mut self, record: &CollectionRecord) {
        self.collections += 1;
        self.collected += record.unreachable;
        self.uncollectable += record.uncollectable;
        self.examined += record.examined;
        self.pause += record.pause;
        self.split_markings += usize::from(record.split);
    }
}
