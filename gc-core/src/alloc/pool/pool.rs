//! Pools: [`POOL_SIZE`] bytes of one arena carved into blocks of one size class.
//!
//! A pool in use hands out blocks from two sources, as CPython's `pymalloc_alloc` does:
//!
//! 1. its **free list** — a singly linked list threaded through the free blocks themselves (the
//!    first word of a free block points to the next one), pushed on free and popped on allocation;
//! 2. its **bump region** — blocks never handed out yet, from `nextoffset` to `maxnextoffset`;
//!    carving them one at a time keeps untouched pages untouched.
//!
//! A third source is ours: **parked blocks**. `trim` releases to the OS the pages of a pool in
//! use that hold only free blocks. Since a free list lives inside the free blocks, those blocks
//! are first taken out of the list and the list is rebuilt from the blocks on resident pages; the
//! blocks on released pages are *parked*: free, in no list, and known only from the pool's
//! `released` page mask, which lives in the pool header — in the arena's header page, never in the
//! pool's own pages. When the list and the bump region run dry, `refill` unparks them all (the
//! next write to them faults in zero-filled pages).
//!
//! Invariants of a pool in state `Used`:
//!
//! - every block is exactly one of: in use (`count` of them), in the free list, in the bump
//!   region, or parked;
//! - a block that overlaps a released page is parked (so a block in use or in the list never
//!   does, and a write to it never silently re-populates a page counted as released);
//! - the pool is in its class's used list if and only if its free list is non-empty.

use std::ptr;

use super::arena::{first_block_offset, ArenaHeader, POOL_SIZE};
use super::os;
use super::size_class::block_size;

/// What a pool is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum PoolState {
    /// Empty and never used since its arena was mapped: its pages were never touched.
    Fresh,
    /// Serving one size class, at least one block in use.
    Used,
    /// Empty, its pages still resident; in the allocator's dirty list.
    Dirty,
    /// Empty, its pages released to the OS with `madvise`.
    Released,
}

/// The bookkeeping of one pool. It lives in the arena's header, outside the pool's own pages,
/// so that releasing those pages loses nothing (CPython keeps it at the start of the pool).
#[repr(C)]
pub(super) struct PoolHeader {
    /// The first block of the free list, or null.
    pub(super) freeblock: *mut u8,
    /// Blocks in use.
    pub(super) count: u16,
    /// Offset (from the pool's start) of the first block of the bump region.
    pub(super) nextoffset: u16,
    /// Offset of the last block that fits; the bump region is empty once `nextoffset` passes it.
    pub(super) maxnextoffset: u16,
    /// The size class served (meaningful in state `Used`).
    pub(super) class: u8,
    /// The pool's index in its arena.
    pub(super) index: u8,
    /// What the pool is doing.
    pub(super) state: PoolState,
    /// Pages of this pool released to the OS: bit `i` is the pool's `i`-th page.
    pub(super) released: u8,
    /// Links in the used list of `class` (state `Used`), or in the arena's list of empty pools.
    pub(super) next: *mut PoolHeader,
    /// See `next`.
    pub(super) prev: *mut PoolHeader,
    /// Links in the allocator's list of dirty pools, most recently emptied first.
    pub(super) dirty_next: *mut PoolHeader,
    /// See `dirty_next`.
    pub(super) dirty_prev: *mut PoolHeader,
}

impl PoolHeader {
    /// The header of pool `index` of a freshly mapped arena: fresh, unlinked.
    pub(super) const fn fresh(index: u8) -> Self {
        PoolHeader {
            freeblock: ptr::null_mut(),
            count: 0,
            nextoffset: 0,
            maxnextoffset: 0,
            class: 0,
            index,
            state: PoolState::Fresh,
            released: 0,
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
            dirty_next: ptr::null_mut(),
            dirty_prev: ptr::null_mut(),
        }
    }
}

/// How pools divide into OS pages, which is what `madvise` works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Pages {
    /// Bytes per page (the OS page size, at least `POOL_SIZE / 8`).
    pub(super) size: usize,
    /// Pages per pool; 0 if a page is larger than a pool (then nothing is ever released).
    pub(super) per_pool: usize,
}

impl Pages {
    /// Geometry for an OS page size; no page is releasable if the OS cannot release pages.
    pub(super) fn new(os_page_size: usize) -> Self {
        let size = os_page_size.max(POOL_SIZE / 8);
        Pages {
            size,
            per_pool: if os::CAN_RELEASE { POOL_SIZE / size } else { 0 },
        }
    }

    /// The pages of pool `index` that may be released: those that hold blocks only (pool 0's
    /// first pages hold the arena header).
    pub(super) fn releasable(&self, index: usize) -> u8 {
        let first = first_block_offset(index).div_ceil(self.size);
        let all = (1u16 << self.per_pool) - 1;
        (all & !((1u16 << first) - 1)) as u8
    }

    /// Bytes in the pages of `mask`.
    pub(super) fn bytes(&self, mask: u8) -> usize {
        mask.count_ones() as usize * self.size
    }
}

/// Geometry of a pool in use: where its blocks are.
#[derive(Clone, Copy)]
struct Blocks {
    first: usize,
    size: usize,
    capacity: usize,
}

impl Blocks {
    fn of(index: usize, class: usize) -> Self {
        let first = first_block_offset(index);
        let size = block_size(class);
        Blocks {
            first,
            size,
            capacity: (POOL_SIZE - first) / size,
        }
    }

    fn offset(&self, i: usize) -> usize {
        self.first + i * self.size
    }

    /// The pages (a mask) that block `i` overlaps.
    fn pages_of(&self, i: usize, pages: Pages) -> u8 {
        let lo = self.offset(i) / pages.size;
        let hi = (self.offset(i) + self.size - 1) / pages.size;
        (((1u16 << (hi + 1)) - 1) & !((1u16 << lo) - 1)) as u8
    }
}

/// The number of blocks a pool of `class` holds at index `index` of its arena.
pub(super) fn capacity(index: usize, class: usize) -> usize {
    Blocks::of(index, class).capacity
}

/// The first byte of a pool's memory.
///
/// # Safety
///
/// `pool` is the header of a pool of a mapped arena.
pub(super) unsafe fn memory(pool: *mut PoolHeader) -> *mut u8 {
    let arena = ArenaHeader::of(pool).cast::<u8>();
    // SAFETY: the pool's index is below `POOLS_PER_ARENA`, so the offset stays inside the arena.
    unsafe { arena.add(usize::from((*pool).index) * POOL_SIZE) }
}

/// Starts serving `class` from an empty pool and returns its first block. (CPython's
/// `allocate_from_new_pool`.)
///
/// Every pool starts over: its first block is handed out, the next is the free list, the rest
/// the bump region, so blocks come out in address order. CPython instead lets a dirty pool that
/// last served the same class go on with its old free list ("luckily, this pool last contained
/// blocks of the same size class"); that list holds the blocks in the reverse of the order they
/// were freed, and a program that frees a structure and builds the next one (GCBench's trees)
/// then lays each new structure out scattered over the pool. Measured on the runner's `trees`
/// workload (medium) with `trial-deletion/threshold:700/pool`: 1.03 s with CPython's reuse,
/// 0.27 s starting over; the free list costs nothing to drop, since every block of an empty pool
/// is free.
///
/// # Safety
///
/// `pool` is an empty pool of a mapped arena, in no list; its released pages have already been
/// accounted for (they are marked resident here).
pub(super) unsafe fn init(pool: *mut PoolHeader, class: usize) -> *mut u8 {
    // SAFETY: the caller passes a valid header, which nothing else references now, of an empty
    // pool: none of its blocks is in use, so its first two blocks may be written.
    unsafe {
        let blocks = Blocks::of(usize::from((*pool).index), class);
        let base = memory(pool);
        let block = base.add(blocks.first);
        let second = block.add(blocks.size);
        // The second block's first word: the end of the free list. Every capacity is at least 2.
        second.cast::<*mut u8>().write(ptr::null_mut());
        (*pool).freeblock = second;
        (*pool).count = 1;
        (*pool).nextoffset = blocks.offset(2) as u16;
        (*pool).maxnextoffset = blocks.offset(blocks.capacity - 1) as u16;
        (*pool).class = class as u8;
        (*pool).state = PoolState::Used;
        (*pool).released = 0;
        block
    }
}

/// What `refill` did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refill {
    /// One block from the bump region is now the free list.
    Bumped,
    /// The parked blocks are the free list again; their pages (a mask) count as resident.
    Unparked(u8),
    /// Every block is in use.
    Full,
}

/// Refills the free list of a pool whose last listed block was just handed out (CPython's
/// `pymalloc_pool_extend`, plus unparking). The bump step is inlined into allocation; unparking
/// and "full" are not.
///
/// # Safety
///
/// `pool` is a pool in state `Used` of a mapped arena, with an empty free list.
#[inline(always)]
pub(super) unsafe fn refill(pool: *mut PoolHeader, pages: Pages) -> Refill {
    // SAFETY: a valid header; the bump region's next block lies inside the pool.
    unsafe {
        debug_assert!((*pool).freeblock.is_null());
        let next = (*pool).nextoffset;
        if next <= (*pool).maxnextoffset {
            let block = memory(pool).add(usize::from(next));
            block.cast::<*mut u8>().write(ptr::null_mut());
            (*pool).freeblock = block;
            (*pool).nextoffset = next + block_size(usize::from((*pool).class)) as u16;
            return Refill::Bumped;
        }
        unpark(pool, pages)
    }
}

/// Puts the parked blocks of a pool whose free list and bump region are empty back in its free
/// list (their pages count as resident again), or reports it full.
///
/// # Safety
///
/// As [`refill`], with an empty bump region.
#[cold]
unsafe fn unpark(pool: *mut PoolHeader, pages: Pages) -> Refill {
    // SAFETY: a valid header; blocks at the offsets its geometry gives.
    unsafe {
        let parked = (*pool).released;
        if parked == 0 {
            return Refill::Full;
        }
        let blocks = Blocks::of(usize::from((*pool).index), usize::from((*pool).class));
        let base = memory(pool);
        let mut head = ptr::null_mut::<u8>();
        for i in (0..blocks.capacity).rev() {
            if blocks.pages_of(i, pages) & parked != 0 {
                let block = base.add(blocks.offset(i));
                block.cast::<*mut u8>().write(head);
                head = block;
            }
        }
        (*pool).freeblock = head;
        (*pool).released = 0;
        Refill::Unparked(parked)
    }
}

/// Releases the pages of `mask` of a pool, one `madvise` per run of adjacent pages; returns the
/// number of `madvise` calls.
///
/// # Safety
///
/// `pool` is a pool of a mapped arena; the pages of `mask` are releasable and hold only free
/// blocks (or nothing), none of them in a free list.
pub(super) unsafe fn release_pages(pool: *mut PoolHeader, mask: u8, pages: Pages) -> usize {
    let mut calls = 0;
    let mut page = 0;
    while page < pages.per_pool {
        if mask & (1 << page) == 0 {
            page += 1;
            continue;
        }
        let start = page;
        while page < pages.per_pool && mask & (1 << page) != 0 {
            page += 1;
        }
        // SAFETY: the run `[start, page)` is inside the pool, whole pages, page-aligned (pools
        // are aligned to `POOL_SIZE`, a multiple of the page size), and holds nothing live.
        unsafe {
            os::release(
                memory(pool).add(start * pages.size),
                (page - start) * pages.size,
            )
        };
        calls += 1;
    }
    calls
}

/// Releases the pages of a pool in use that hold only free blocks, parking those blocks (see the
/// [module docs](self)); returns the pages newly released and the number of `madvise` calls.
///
/// # Safety
///
/// `pool` is a pool in state `Used` of a mapped arena. If its free list ends up empty the pool
/// must leave its used list (the caller checks `freeblock`).
pub(super) unsafe fn trim(pool: *mut PoolHeader, pages: Pages) -> (u8, usize) {
    // SAFETY: a valid header; its free list holds blocks of this pool, each holding the next link.
    unsafe {
        let index = usize::from((*pool).index);
        let candidates = pages.releasable(index) & !(*pool).released;
        if candidates == 0 {
            return (0, 0);
        }
        let blocks = Blocks::of(index, usize::from((*pool).class));
        let base = memory(pool);
        // Bit i: block i is free (listed, in the bump region, or parked).
        let mut free = [0u64; POOL_SIZE / 16 / 64];
        let mut set = |i: usize| free[i / 64] |= 1 << (i % 64);
        let carved = (usize::from((*pool).nextoffset) - blocks.first) / blocks.size;
        (carved.min(blocks.capacity)..blocks.capacity).for_each(&mut set);
        let mut block = (*pool).freeblock;
        while !block.is_null() {
            set((block.addr() - base.addr() - blocks.first) / blocks.size);
            block = block.cast::<*mut u8>().read();
        }
        for i in 0..blocks.capacity {
            if blocks.pages_of(i, pages) & (*pool).released != 0 {
                set(i);
            }
        }
        let is_free = |i: usize| free[i / 64] & (1 << (i % 64)) != 0;
        // A page can go if every block overlapping it is free.
        let mut busy = 0u8;
        for i in 0..blocks.capacity {
            if !is_free(i) {
                busy |= blocks.pages_of(i, pages);
            }
        }
        let wanted = candidates & !busy;
        if wanted == 0 {
            return (0, 0);
        }
        // Rebuild the free list from the free blocks that stay resident, in address order, before
        // releasing anything (the list's links are in the blocks).
        let parked = (*pool).released | wanted;
        let mut head = ptr::null_mut::<u8>();
        for i in (0..blocks.capacity).rev() {
            if is_free(i) && blocks.pages_of(i, pages) & parked == 0 {
                let block = base.add(blocks.offset(i));
                block.cast::<*mut u8>().write(head);
                head = block;
            }
        }
        (*pool).freeblock = head;
        (*pool).nextoffset = blocks.offset(blocks.capacity) as u16;
        let calls = release_pages(pool, wanted, pages);
        (*pool).released = parked;
        (wanted, calls)
    }
}
