//! The allocator axis: where object memory comes from.
//!
//! A heap asks its allocator for one block per object (header and value together) and gives it
//! back when the object is freed. [`SystemAllocator`] forwards to Rust's global allocator; the pool
//! allocator (CPython's obmalloc) is another implementation of the same trait.

mod system;

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
}
