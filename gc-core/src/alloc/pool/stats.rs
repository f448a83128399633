//! [`PoolStats`]: what `sys._debugmallocstats()` prints, and what we add to it.
//!
//! CPython's report (`_PyObject_DebugMallocStats` in `Objects/obmalloc.c`) lists, per size class,
//! the pools serving it and their blocks in use and available; then the arenas (allocated in
//! total, reclaimed, high-water mark, current) and a breakdown of every mapped byte into blocks in
//! use, available blocks, unused pools and overhead, whose total is exactly the bytes mapped.
//! [`PoolStats`] carries the same figures (the breakdown still adds up: see
//! [`PoolStats::bytes_accounted`]) plus what CPython cannot report because it does not do it: empty
//! pools by residency (dirty, released, fresh) and the bytes released to the OS with `madvise`.

use std::fmt::Write as _;

use super::arena::{ARENA_SIZE, POOL_SIZE};
use super::size_class::{NUM_SIZE_CLASSES, SMALL_REQUEST_THRESHOLD};

/// One size class, as a row of CPython's table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// The size of the class's blocks.
    pub block_size: usize,
    /// Pools serving the class (partly used or full).
    pub pools: usize,
    /// Of those, pools without a free block.
    pub full_pools: usize,
    /// Blocks handed out.
    pub blocks_in_use: usize,
    /// Free blocks in the class's pools: listed, never handed out, or parked on released pages.
    pub blocks_free: usize,
}

/// A snapshot of a [`PoolAllocator`](super::PoolAllocator), from
/// [`PoolAllocator::pool_stats`](super::PoolAllocator::pool_stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// One row per size class, smallest first ([`NUM_SIZE_CLASSES`] rows).
    pub classes: Vec<ClassStats>,

    /// Arenas mapped since the allocator was created.
    pub arenas_allocated: usize,
    /// Arenas unmapped since the allocator was created.
    pub arenas_freed: usize,
    /// The most arenas mapped at once.
    pub arenas_highwater: usize,
    /// Arenas mapped now (the spares included).
    pub arenas_live: usize,
    /// Entirely empty arenas kept mapped for reuse.
    pub spare_arenas: usize,
    /// Spare arenas kept before the one empty the longest is unmapped.
    pub spare_arena_limit: usize,

    /// Pools serving a size class.
    pub pools_used: usize,
    /// Empty pools whose pages are resident.
    pub pools_dirty: usize,
    /// Empty pools whose pages were released to the OS.
    pub pools_released: usize,
    /// Empty pools never used since their arena was mapped.
    pub pools_fresh: usize,
    /// Dirty pools kept resident before the oldest is released.
    pub dirty_pool_limit: usize,

    /// Bytes mapped from the OS: `arenas_live * ARENA_SIZE`.
    pub bytes_mapped: usize,
    /// Bytes in blocks handed out (block sizes, not request sizes).
    pub bytes_in_allocated_blocks: usize,
    /// Bytes in the free blocks of pools in use.
    pub bytes_in_free_blocks: usize,
    /// Bytes in empty pools.
    pub bytes_in_empty_pools: usize,
    /// Bytes taken by the arena headers (which hold the pool headers).
    pub bytes_in_arena_headers: usize,
    /// Bytes at the end of pools in use too small for one more block.
    pub bytes_lost_to_quantization: usize,

    /// Bytes mapped but released to the OS now (not resident).
    pub bytes_released: usize,
    /// Bytes released to the OS since the allocator was created (a page released twice counts
    /// twice).
    pub bytes_released_total: u64,
    /// `madvise` calls made.
    pub madvise_calls: u64,
    /// The page size releases are made in (0 before the first arena is mapped).
    pub page_size: usize,

    /// Blocks handed out, pools and system allocator together.
    pub blocks_in_use: usize,
    /// Bytes requested in those blocks.
    pub bytes_in_use: usize,
    /// Blocks served by the system allocator (large or over-aligned requests).
    pub large_blocks: usize,
    /// Bytes requested in those blocks.
    pub large_bytes: usize,
}

impl PoolStats {
    /// The sum of the breakdown of mapped bytes; always equal to [`PoolStats::bytes_mapped`].
    pub fn bytes_accounted(&self) -> usize {
        self.bytes_in_allocated_blocks
            + self.bytes_in_free_blocks
            + self.bytes_in_empty_pools
            + self.bytes_in_arena_headers
            + self.bytes_lost_to_quantization
    }

    /// Mapped bytes not released: an upper bound on the resident memory the pools cost (pages
    /// never touched are not resident either).
    pub fn bytes_not_released(&self) -> usize {
        self.bytes_mapped - self.bytes_released
    }

    /// A text report laid out like CPython's `sys._debugmallocstats()`, followed by the figures
    /// CPython does not have.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, label: &str, value: String| {
            let _ = writeln!(out, "{label:<35}= {value:>20}");
        };
        let _ = writeln!(
            out,
            "Small block threshold = {SMALL_REQUEST_THRESHOLD}, in {NUM_SIZE_CLASSES} size classes.\n"
        );
        out.push_str("class   size   num pools   blocks in use  avail blocks\n");
        out.push_str("-----   ----   ---------   -------------  ------------\n");
        for (class, row) in self.classes.iter().enumerate() {
            if row.pools == 0 {
                continue;
            }
            let _ = writeln!(
                out,
                "{class:5} {:6} {:11} {:15} {:13}",
                row.block_size, row.pools, row.blocks_in_use, row.blocks_free
            );
        }
        out.push('\n');
        line(
            &mut out,
            "# arenas allocated total",
            sep(self.arenas_allocated),
        );
        line(&mut out, "# arenas reclaimed", sep(self.arenas_freed));
        line(
            &mut out,
            "# arenas highwater mark",
            sep(self.arenas_highwater),
        );
        line(
            &mut out,
            "# arenas allocated current",
            sep(self.arenas_live),
        );
        line(
            &mut out,
            &format!("{} arenas * {ARENA_SIZE} bytes/arena", self.arenas_live),
            sep(self.bytes_mapped),
        );
        out.push('\n');
        line(
            &mut out,
            "# bytes in allocated blocks",
            sep(self.bytes_in_allocated_blocks),
        );
        line(
            &mut out,
            "# bytes in available blocks",
            sep(self.bytes_in_free_blocks),
        );
        line(
            &mut out,
            &format!(
                "{} unused pools * {POOL_SIZE} bytes",
                self.pools_dirty + self.pools_released + self.pools_fresh
            ),
            sep(self.bytes_in_empty_pools),
        );
        line(
            &mut out,
            "# bytes lost to arena headers",
            sep(self.bytes_in_arena_headers),
        );
        line(
            &mut out,
            "# bytes lost to quantization",
            sep(self.bytes_lost_to_quantization),
        );
        line(&mut out, "Total", sep(self.bytes_accounted()));
        out.push_str("\n(beyond CPython)\n");
        line(
            &mut out,
            "# unused pools dirty/released/fresh",
            format!(
                "{}/{}/{}",
                self.pools_dirty, self.pools_released, self.pools_fresh
            ),
        );
        line(&mut out, "# dirty pool limit", sep(self.dirty_pool_limit));
        line(
            &mut out,
            "# spare arenas/limit",
            format!("{}/{}", self.spare_arenas, self.spare_arena_limit),
        );
        line(
            &mut out,
            "# bytes released to the OS now",
            sep(self.bytes_released),
        );
        line(
            &mut out,
            "# bytes released to the OS, total",
            sep(usize::try_from(self.bytes_released_total).unwrap_or(usize::MAX)),
        );
        line(
            &mut out,
            "# madvise calls",
            sep(usize::try_from(self.madvise_calls).unwrap_or(usize::MAX)),
        );
        line(
            &mut out,
            "# bytes mapped, not released",
            sep(self.bytes_not_released()),
        );
        line(&mut out, "# blocks in use (all)", sep(self.blocks_in_use));
        line(
            &mut out,
            "# bytes requested in use (all)",
            sep(self.bytes_in_use),
        );
        line(
            &mut out,
            "# large blocks (system allocator)",
            sep(self.large_blocks),
        );
        line(&mut out, "# bytes in large blocks", sep(self.large_bytes));
        out
    }
}

/// `1234567` → `"1,234,567"`, as CPython prints its totals.
fn sep(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::sep(0), "0");
        assert_eq!(super::sep(999), "999");
        assert_eq!(super::sep(1000), "1,000");
        assert_eq!(super::sep(1_048_576), "1,048,576");
    }
}
