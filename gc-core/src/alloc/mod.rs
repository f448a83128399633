//! The allocator axis: where object memory comes from.
//!
//! A heap asks its allocator for one block per object (header and value together) and gives it
//! back when the object is freed. [`SystemAllocator`] forwards to Rust's global allocator;
//! [`PoolAllocator`] is CPython's small-object allocator (obmalloc: size classes, pools, arenas),
//! with pages of empty pools handed back to the operating system.

pub mod pool;
mod system;

pub use pool::{PoolAllocator, PoolStats};
pub use system::SystemAllocator;

use std::alloc::Layout;
use std::ptr::NonNull;

/// Counters an allocator keeps about its own memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Blocks handed out and not yet returned.
    pub blocks_in_use: usize,
    /// Bytes in those blocks (as requested).
    pub bytes_in_use: usize,
    /// Bytes the allocator holds from the operating system (0 if it does not know).
    pub bytes_mapped: usize,
    /// Of `bytes_mapped`, bytes handed back to the operating system while staying mapped
    /// (`madvise(MADV_DONTNEED)`): they cost no resident memory until they are used again.
    pub bytes_released: usize,
    /// Arenas (the large regions the allocator maps from the operating system) mapped now.
    pub arenas_live: usize,
    /// Arenas mapped since the allocator was created (CPython's "arenas allocated total").
    pub arenas_allocated: usize,
    /// Arenas unmapped since the allocator was created (CPython's "arenas reclaimed").
    pub arenas_freed: usize,
}

/// A source of memory for managed objects. One allocator serves one heap, on one thread.
///
/// # Safety
///
/// An implementation promises that [`Allocator::allocate`] returns a block that is valid for reads
/// and writes of `layout.size()` bytes, aligned to `layout.align()`, not overlapping any other
/// block it handed out that is still in use, and that stays valid until it is passed to
/// [`Allocator::deallocate`]. The heap frees objects on the strength of this: a block that
/// overlapped another would let two objects overwrite each other.
pub unsafe trait Allocator {
    /// A short name for reports (`"system"`, `"pool"`).
    fn name(&self) -> &'static str;

    /// A block for `layout`, or `None` if memory is exhausted.
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>>;

    /// Returns a block.
    ///
    /// # Safety
    ///
    /// `block` came from `allocate` on this allocator with this same `layout` and has not been
    /// deallocated since; nothing reads or writes it afterwards.
    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout);

    /// The allocator's own counters.
    fn stats(&self) -> AllocatorStats;

    /// Gives memory the allocator holds but does not use back to the operating system (like
    /// glibc's `malloc_trim`), and returns how many bytes it gave back. A heap may call it after a
    /// full collection. Blocks in use are not affected. The default does nothing.
    fn trim(&self) -> usize {
        0
    }

    /// Gives back the memory the allocator keeps *empty* for reuse — whole free arenas, free
    /// pages — without touching blocks in use or the free blocks of partly used memory, and
    /// returns how many bytes it gave back. Cheaper than [`Allocator::trim`]. A heap calls it
    /// after a full collection that the program asked for (`gc::collect()`), the moment a
    /// program expects its memory to go down. The default does nothing.
    fn release_empty(&self) -> usize {
        0
    }
}
