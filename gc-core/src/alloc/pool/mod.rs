//! [`PoolAllocator`]: CPython's small-object allocator, with memory that really goes back to the
//! operating system.
//!
//! Most objects a Python program creates are small — a few dozen bytes — and short-lived. CPython
//! serves every request of at most 512 bytes from its own allocator, *pymalloc*
//! (`Objects/obmalloc.c`), instead of `malloc`: it is faster, wastes less per object, and keeps
//! objects of one size together. This module is that allocator, for the objects of a gclab heap,
//! with one addition that answers the most common complaint about it. The model first; the code
//! follows it file by file.
//!
//! # Arena → pool → block
//!
//! - An **arena** is 1 MiB ([`ARENA_SIZE`]) mapped from the OS with `mmap` ([`os`]), aligned to
//!   its size. Its first few KiB are its header ([`arena`]).
//! - An arena is split into 64 **pools** of 16 KiB ([`POOL_SIZE`]; CPython's sizes on 64-bit
//!   builds since 3.10). A pool in use serves one **size class**: 16, 32, 48, …, 512 bytes, every
//!   16 bytes ([`size_class`](mod@size_class)).
//! - A pool in use is cut into **blocks** of its class's size ([`pool`](mod@self::pool)). A request is
//!   rounded up to its class and gets one block.
//!
//! Requests larger than 512 bytes, or aligned to more than 16, go to the system allocator.
//!
//! # The free lists
//!
//! Three levels of "where is free memory", each O(1):
//!
//! - **Blocks**: a pool in use threads a singly linked free list through its free blocks (the link
//!   is the block's first word) and keeps a *bump region* of blocks never handed out. Allocation
//!   pops the list; free pushes onto it. These are the fast paths: a few loads and stores.
//! - **Pools of a class**: `used[class]` (CPython's `usedpools`) lists the pools of the class that
//!   have a free block. A pool that fills leaves the list; one that gets a block back rejoins at
//!   the front.
//! - **Empty pools**: each arena lists its empty pools. An empty pool can serve *any* class next,
//!   so memory freed by one size is reused by another.
//!
//! # Which arena: fullest first
//!
//! A new pool comes from the arena with the fewest empty pools ([`usable`]): allocation piles up
//! in the fullest arenas so that the emptiest ones can drain. CPython keeps the arenas sorted by
//! their count of empty pools and re-sorts in O(1) with `nfp2lasta` (the last arena with each
//! count); so does this module. An arena whose pools are all empty is unmapped with `munmap` —
//! except a few, kept as *spares* ([`spare`]): CPython keeps one, so that a program oscillating
//! around an arena boundary does not map and unmap on every swing; here up to
//! [`DEFAULT_SPARE_ARENA_LIMIT`] (16) stay mapped, because a program that builds and drops a
//! structure of a few megabytes over and over would otherwise pay a page fault for every page of
//! it on every round — measured on binary trees of depth 16, twice the time of the allocations
//! themselves. They, and the dirty pools below, go back to the OS when the program asks for a full
//! collection ([`Allocator::release_empty`](crate::Allocator::release_empty), called by
//! `gc::collect()`), or at [`Allocator::trim`](crate::Allocator::trim).
//!
//! # Beyond CPython: `madvise` for empty pools in live arenas
//!
//! CPython gives memory back only arena by arena. One surviving object keeps its whole arena — a
//! megabyte — resident, which is why `del` and `gc.collect()` so often leave a Python process as
//! large as it was. Here a pool that becomes empty inside an arena that is still in use joins the
//! **dirty list** ([`dirty`]); once more pools are dirty than the limit (by default sixteen
//! arenas' worth, [`DEFAULT_DIRTY_POOL_LIMIT`], as much as the spares), the one empty the longest has its pages released with
//! `madvise(MADV_DONTNEED)`: they leave the resident set at once, the mapping stays, and reusing
//! the pool later simply faults in zeroed pages.
//!
//! That is possible only because nothing needed to reuse the pool is in its pages. CPython keeps a
//! pool's header (its free list head, counts, size class and list links) in the first bytes of the
//! pool itself; releasing the pool's pages would zero it. Here every pool header lives in its
//! arena's header, in the arena's first page, which is never released while the arena is mapped.
//! An empty pool's free list is dead anyway — a reused pool starts again from its bump region.
//!
//! [`Allocator::trim`](crate::Allocator::trim) goes further, when asked (after a full collection,
//! say): it unmaps the spares, releases every dirty pool, and releases the pages of pools *in use*
//! whose blocks on that page are all free — the case of a few survivors scattered across many
//! pools. Their free blocks on released pages are *parked*: taken out of the free list (whose
//! links would be lost with the page) and given back, all at once, when the pool runs out of
//! others.
//!
//! # One thread, no locks
//!
//! One allocator belongs to one heap, on one thread, as a CPython interpreter's allocator belongs
//! to the thread holding the GIL: it takes no lock and uses no atomic. Its state is in an
//! `UnsafeCell` behind `&self`; it is `!Sync`, its methods never call code that could re-enter it,
//! so at most one method runs at a time and each has the state to itself.
//!
//! # Requests it does not serve, and bad requests
//!
//! | request | behaviour |
//! |---|---|
//! | 1–512 bytes, alignment ≤ 16 | a block of the size class, 16-byte aligned |
//! | 0 bytes, alignment ≤ 16 | a block of the 16-byte class (unique, like CPython's `malloc(0)`) |
//! | more than 512 bytes | the system allocator, with the same layout |
//! | alignment above 16 | the system allocator, with the same layout (a zero size becomes one alignment's worth) |
//! | a size the system cannot serve | `None` (a [`Layout`](std::alloc::Layout) cannot overflow `isize`; the heap turns `None` into `handle_alloc_error`) |
//! | no arena can be mapped | `None` |
//!
//! `deallocate` routes by the layout alone, so a block must be freed with the layout it was
//! allocated with — as the [`Allocator`](crate::Allocator) contract requires.
//!
//! # Statistics
//!
//! [`Allocator::stats`](crate::Allocator::stats) is O(1): blocks and bytes in use, bytes mapped
//! and released, arenas allocated, freed and live. [`PoolAllocator::pool_stats`] walks the arenas
//! for CPython's `sys._debugmallocstats()` figures and more ([`PoolStats`]), and
//! [`PoolAllocator::report`] prints them in CPython's layout.
//!
//! # Under Miri
//!
//! Arenas come from `std::alloc` instead of `mmap`, and releasing pages de-initialises them, so
//! Miri checks the pool logic itself — including that nothing reads bookkeeping from released
//! pages ([`os`]).
//!
//! Reference: CPython, `Objects/obmalloc.c` and `Include/internal/pycore_obmalloc.h` (Vladimir
//! Marangozov's pymalloc; the most-full-first arena order and `nfp2lasta` by Tim Peters,
//! bpo-37257; 1 MiB arenas and 16 KiB pools with the radix tree of 3.10).

mod allocator;
pub mod arena;
#[cfg(test)]
mod check;
pub mod dirty;
pub mod os;
// `pool::pool`: the pool allocator's file about one pool; the name a reader looks for.
#[allow(clippy::module_inception)]
pub mod pool;
pub mod size_class;
pub mod spare;
pub mod stats;
#[cfg(test)]
mod tests;
pub mod usable;

pub use allocator::{PoolAllocator, DEFAULT_DIRTY_POOL_LIMIT, DEFAULT_SPARE_ARENA_LIMIT};
pub use arena::{ARENA_SIZE, POOLS_PER_ARENA, POOL_SIZE};
pub use size_class::{
    block_size, size_class, ALIGNMENT, NUM_SIZE_CLASSES, SMALL_REQUEST_THRESHOLD,
};
pub use stats::{ClassStats, PoolStats};
