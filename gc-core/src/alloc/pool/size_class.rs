//! Size classes: which requests the pools serve, and how big their blocks are.
//!
//! As in CPython's `Objects/obmalloc.c` (`ALIGNMENT`, `SMALL_REQUEST_THRESHOLD`, `INDEX2SIZE`),
//! requests are rounded up to a multiple of 16 bytes: a request of `n` bytes, `1 ≤ n ≤ 512`, is
//! served by class `(n - 1) / 16`, whose blocks are `16 * (class + 1)` bytes. Every block is
//! 16-byte aligned because pools, and the first block of every pool, are.
//!
//! Requests the pools do not serve go to the system allocator: more than 512 bytes, or an
//! alignment above 16. A request of 0 bytes (which a heap never makes, since every object has a
//! header) is served by class 0, as CPython's `malloc(0)` returns a unique pointer.

use std::alloc::Layout;

/// Every block is aligned to this many bytes, and block sizes are multiples of it.
pub const ALIGNMENT: usize = 16;

/// The largest request served by the pools; larger ones go to the system allocator.
pub const SMALL_REQUEST_THRESHOLD: usize = 512;

/// The number of size classes: 16, 32, …, 512 bytes.
pub const NUM_SIZE_CLASSES: usize = SMALL_REQUEST_THRESHOLD / ALIGNMENT;

/// The size class serving `layout`, or `None` if the system allocator serves it.
///
/// ```
/// use std::alloc::Layout;
/// use gc_core::alloc::pool::{size_class, block_size};
/// assert_eq!(size_class(Layout::from_size_align(48, 8).unwrap()), Some(2));
/// assert_eq!(block_size(2), 48);
/// assert_eq!(size_class(Layout::from_size_align(0, 1).unwrap()), Some(0));
/// assert_eq!(size_class(Layout::from_size_align(513, 8).unwrap()), None);
/// assert_eq!(size_class(Layout::from_size_align(64, 32).unwrap()), None);
/// ```
#[inline(always)]
pub const fn size_class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    if size <= SMALL_REQUEST_THRESHOLD && layout.align() <= ALIGNMENT {
        Some(size.saturating_sub(1) / ALIGNMENT)
    } else {
        None
    }
}

/// The size of the blocks of `class`.
#[inline(always)]
pub const fn block_size(class: usize) -> usize {
    (class + 1) * ALIGNMENT
}
