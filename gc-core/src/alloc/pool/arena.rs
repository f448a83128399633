//! Arenas: [`ARENA_SIZE`] bytes mapped from the OS, aligned to their size, split into
//! [`POOLS_PER_ARENA`] pools.
//!
//! ```text
//! arena (1 MiB, 1 MiB-aligned)
//! ┌──────────────────────────┬───────────┬───────────┬─────┬───────────┐
//! │ ArenaHeader │ pool 0 …   │  pool 1   │  pool 2   │  …  │  pool 63  │
//! │ (64 PoolHeaders)         │  16 KiB   │  16 KiB   │     │  16 KiB   │
//! └──────────────────────────┴───────────┴───────────┴─────┴───────────┘
//! ```
//!
//! The arena's first bytes hold its header: its list links, its list of empty pools, and the
//! headers of all its pools. Pool 0's blocks start after it; every other pool's blocks start at
//! the pool's first byte. Because arenas are aligned to their size and pools to theirs, a block's
//! pool header is found from the block's address alone: mask to the arena, shift to the pool
//! index (CPython finds a pool header by masking to the pool, which it can do because it keeps
//! the header inside the pool — which is what we must not do, see the [module docs](super)).
//!
//! An arena's empty pools that have been used before are in a doubly linked list, resident
//! (dirty) pools first and released ones after, so that a new pool reuses memory that is already
//! resident. Pools never used since the arena was mapped are not in the list: as CPython does with
//! `pool_address`, the arena hands them out in address order after the list is exhausted, so that
//! an arena's touched pages stay at its start.

use std::mem::size_of;
use std::ptr::{self, NonNull};

use super::pool::{PoolHeader, PoolState};
use super::size_class::ALIGNMENT;

/// Bytes in an arena (CPython: `ARENA_SIZE`, 1 MiB since 3.10).
pub const ARENA_SIZE: usize = 1 << 20;

/// Bytes in a pool (CPython: `POOL_SIZE`, 16 KiB since 3.10).
pub const POOL_SIZE: usize = 1 << 14;

/// Pools in an arena.
pub const POOLS_PER_ARENA: usize = ARENA_SIZE / POOL_SIZE;

/// The header at the start of every arena.
#[repr(C)]
pub(super) struct ArenaHeader {
    /// The first empty pool that was used before (dirty ones first), or null.
    pub(super) free_head: *mut PoolHeader,
    /// The last empty pool that was used before, or null.
    pub(super) free_tail: *mut PoolHeader,
    /// Empty pools (fresh, dirty or released).
    pub(super) nfreepools: usize,
    /// The index of the first fresh pool: pools from here on have never been used.
    pub(super) fresh: usize,
    /// Next arena in the usable list (arenas with an empty pool, fewest empty pools first).
    pub(super) next: *mut ArenaHeader,
    /// Previous arena in the usable list.
    pub(super) prev: *mut ArenaHeader,
    /// Next arena in the list of all mapped arenas.
    pub(super) all_next: *mut ArenaHeader,
    /// Previous arena in the list of all mapped arenas.
    pub(super) all_prev: *mut ArenaHeader,
    /// The pools' headers.
    pub(super) pools: [PoolHeader; POOLS_PER_ARENA],
}

/// Bytes at the start of an arena taken by its header (rounded to the block alignment).
pub const HEADER_SIZE: usize = size_of::<ArenaHeader>().next_multiple_of(ALIGNMENT);

const _: () = assert!(
    HEADER_SIZE + 2 * 512 <= POOL_SIZE,
    "pool 0 holds two blocks of any class"
);
const _: () = assert!(POOLS_PER_ARENA <= 256, "pool indexes are u8");

/// Where the blocks of pool `index` start, from the pool's first byte.
#[inline(always)]
pub(super) const fn first_block_offset(index: usize) -> usize {
    if index == 0 {
        HEADER_SIZE
    } else {
        0
    }
}

impl ArenaHeader {
    /// Writes the header of a freshly mapped arena: every pool fresh.
    ///
    /// # Safety
    ///
    /// `base` is a mapped arena (aligned, `ARENA_SIZE` bytes) that nothing else uses.
    pub(super) unsafe fn init(base: NonNull<u8>) -> *mut ArenaHeader {
        let arena = base.as_ptr().cast::<ArenaHeader>();
        // SAFETY: the header fits in the arena (`HEADER_SIZE < POOL_SIZE`) and the arena is
        // aligned far beyond the header's alignment.
        unsafe {
            arena.write(ArenaHeader {
                free_head: ptr::null_mut(),
                free_tail: ptr::null_mut(),
                nfreepools: POOLS_PER_ARENA,
                fresh: 0,
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                all_next: ptr::null_mut(),
                all_prev: ptr::null_mut(),
                pools: std::array::from_fn(|i| PoolHeader::fresh(i as u8)),
            });
        }
        arena
    }

    /// The arena holding `p` (any address inside an arena, header included).
    #[inline(always)]
    pub(super) fn of<T>(p: *mut T) -> *mut ArenaHeader {
        p.cast::<u8>()
            .map_addr(|a| a & !(ARENA_SIZE - 1))
            .cast::<ArenaHeader>()
    }

    /// The header of pool `index` of `arena`.
    ///
    /// # Safety
    ///
    /// `arena` is a mapped arena with an initialised header; `index < POOLS_PER_ARENA`.
    #[inline(always)]
    pub(super) unsafe fn pool(arena: *mut ArenaHeader, index: usize) -> *mut PoolHeader {
        debug_assert!(index < POOLS_PER_ARENA);
        // SAFETY: `pools` has `POOLS_PER_ARENA` elements, inside the header (caller's promise).
        unsafe {
            ptr::addr_of_mut!((*arena).pools)
                .cast::<PoolHeader>()
                .add(index)
        }
    }

    /// The header of the pool holding `block`.
    ///
    /// # Safety
    ///
    /// `block` is a block handed out by a pool of a mapped arena.
    #[inline(always)]
    pub(super) unsafe fn pool_of_block(block: *mut u8) -> *mut PoolHeader {
        let index = (block.addr() / POOL_SIZE) % POOLS_PER_ARENA;
        // SAFETY: the block's arena is mapped, its header initialised; the index is in range.
        unsafe { Self::pool(Self::of(block), index) }
    }

    /// Puts an empty pool at the front of the arena's empty-pool list.
    ///
    /// # Safety
    ///
    /// `arena` is mapped; `pool` is one of its pools and in no list.
    pub(super) unsafe fn push_free_front(arena: *mut ArenaHeader, pool: *mut PoolHeader) {
        // SAFETY: headers of a mapped arena; the list links only pools of this arena.
        unsafe {
            (*pool).prev = ptr::null_mut();
            (*pool).next = (*arena).free_head;
            match (*arena).free_head.is_null() {
                true => (*arena).free_tail = pool,
                false => (*(*arena).free_head).prev = pool,
            }
            (*arena).free_head = pool;
        }
    }

    /// Puts an empty pool at the back of the arena's empty-pool list.
    ///
    /// # Safety
    ///
    /// As [`ArenaHeader::push_free_front`].
    pub(super) unsafe fn push_free_back(arena: *mut ArenaHeader, pool: *mut PoolHeader) {
        // SAFETY: headers of a mapped arena; the list links only pools of this arena.
        unsafe {
            (*pool).next = ptr::null_mut();
            (*pool).prev = (*arena).free_tail;
            match (*arena).free_tail.is_null() {
                true => (*arena).free_head = pool,
                false => (*(*arena).free_tail).next = pool,
            }
            (*arena).free_tail = pool;
        }
    }

    /// Takes `pool` out of the arena's empty-pool list.
    ///
    /// # Safety
    ///
    /// `arena` is mapped; `pool` is in its empty-pool list.
    pub(super) unsafe fn remove_free(arena: *mut ArenaHeader, pool: *mut PoolHeader) {
        // SAFETY: headers of a mapped arena; `pool`'s neighbours are in the same list.
        unsafe {
            let (prev, next) = ((*pool).prev, (*pool).next);
            match prev.is_null() {
                true => (*arena).free_head = next,
                false => (*prev).next = next,
            }
            match next.is_null() {
                true => (*arena).free_tail = prev,
                false => (*next).prev = prev,
            }
            (*pool).next = ptr::null_mut();
            (*pool).prev = ptr::null_mut();
        }
    }

    /// Takes an empty pool: the first of the list (a dirty one if there is one), else the first
    /// fresh pool.
    ///
    /// # Safety
    ///
    /// `arena` is mapped and has an empty pool.
    pub(super) unsafe fn pop_free(arena: *mut ArenaHeader) -> *mut PoolHeader {
        // SAFETY: the caller promises an empty pool: listed, or fresh (`fresh` in range).
        unsafe {
            let pool = (*arena).free_head;
            if pool.is_null() {
                let index = (*arena).fresh;
                debug_assert!(index < POOLS_PER_ARENA);
                (*arena).fresh = index + 1;
                return Self::pool(arena, index);
            }
            debug_assert_ne!((*pool).state, PoolState::Used);
            Self::remove_free(arena, pool);
            pool
        }
    }
}
