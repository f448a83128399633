//! [`HeapStats`]: a snapshot of one heap's counters.

use gc_core::{AllocatorStats, GenerationStats};

/// Counters of the current thread's heap, from [`gc::stats`](crate::gc::stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// The configuration's name (`"trial-deletion/threshold:700/system"`).
    pub config: String,
    /// Objects allocated since the heap was created.
    pub objects_allocated: u64,
    /// Objects whose memory went back to the allocator.
    pub objects_freed: u64,
    /// Bytes allocated (headers included).
    pub bytes_allocated: u64,
    /// Bytes returned to the allocator.
    pub bytes_freed: u64,
    /// The most bytes live at once (since the heap was created or [`gc::reset_peak`](crate::gc::reset_peak)).
    pub peak_live_bytes: u64,
    /// Objects currently tracked by the cycle collector.
    pub tracked_objects: usize,
    /// The most objects tracked at once (since the heap was created or
    /// [`gc::reset_peak`](crate::gc::reset_peak)).
    pub peak_tracked_objects: usize,
    /// Per generation totals, youngest first.
    pub generations: Vec<GenerationStats>,
    /// The allocator's own counters.
    pub allocator: AllocatorStats,
}

impl HeapStats {
    /// Objects allocated and not yet freed.
    pub fn live_objects(&self) -> u64 {
        self.objects_allocated - self.objects_freed
    }

    /// Bytes allocated and not yet freed.
    pub fn live_bytes(&self) -> u64 {
        self.bytes_allocated - self.bytes_freed
    }
}
