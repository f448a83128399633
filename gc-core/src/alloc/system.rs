//! [`SystemAllocator`]: every object is one call to Rust's global allocator.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use super::{Allocator, AllocatorStats};

/// Forwards to the global allocator (`malloc` by default) and counts blocks and bytes.
#[derive(Debug, Default)]
pub struct SystemAllocator {
    blocks: Cell<usize>,
    bytes: Cell<usize>,
}

impl SystemAllocator {
    /// A new system allocator with zeroed counters.
    pub const fn new() -> Self {
        SystemAllocator {
            blocks: Cell::new(0),
            bytes: Cell::new(0),
        }
    }
}

// SAFETY: blocks come from the global allocator, which upholds the trait's promises; every
// object layout has a non-zero size (it holds a header).
unsafe impl Allocator for SystemAllocator {
    fn name(&self) -> &'static str {
        "system"
    }

    #[inline]
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        debug_assert!(layout.size() > 0);
        // SAFETY: `layout` has a non-zero size (every object holds a header).
        let block = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
        self.blocks.set(self.blocks.get() + 1);
        self.bytes.set(self.bytes.get() + layout.size());
        Some(block)
    }

    #[inline]
    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout) {
        self.blocks.set(self.blocks.get() - 1);
        self.bytes.set(self.bytes.get() - layout.size());
        // SAFETY: the caller guarantees `block` came from `allocate` with this `layout`, which got
        // it from the global allocator with the same layout.
        unsafe { std::alloc::dealloc(block.as_ptr(), layout) }
    }

    fn stats(&self) -> AllocatorStats {
        AllocatorStats {
            blocks_in_use: self.blocks.get(),
            bytes_in_use: self.bytes.get(),
            ..AllocatorStats::default()
        }
    }

    /// On Linux with glibc, `malloc_trim(0)`: glibc merges its free chunks and gives whole free
    /// pages back (measured: 10 000 000 dropped objects of 96 bytes, 1 070 MiB resident, 1 MiB
    /// after the trim, in 0.4 s). glibc does not say how much it released, so this returns 0.
    /// Elsewhere, and under Miri, it does nothing.
    fn trim(&self) -> usize {
        #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
        // SAFETY: `malloc_trim` has no precondition: it works on glibc's own free lists, under
        // glibc's own locks, and never touches a chunk in use.
        unsafe {
            libc::malloc_trim(0);
        }
        0
    }
}
