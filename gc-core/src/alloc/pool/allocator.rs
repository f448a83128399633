//! [`PoolAllocator`]: the allocator's state, its fast paths and its slow paths.
//!
//! The fast paths are CPython's `pymalloc_alloc` and `pymalloc_free`: pop or push one block on the
//! free list of a pool. Everything else — a class without a pool, a pool that fills or empties, an
//! arena that fills or empties, releasing pages — is a slow path, in a function of its own.

use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::fmt;
use std::ptr::{self, NonNull};

use super::arena::{
    first_block_offset, ArenaHeader, ARENA_SIZE, HEADER_SIZE, POOLS_PER_ARENA, POOL_SIZE,
};
use super::dirty::DirtyPools;
use super::os;
use super::pool::{self, Pages, PoolHeader, PoolState, Refill};
use super::size_class::{block_size, size_class, NUM_SIZE_CLASSES};
use super::spare::SpareArenas;
use super::stats::{ClassStats, PoolStats};
use super::usable::{Returned, UsableArenas};
use crate::alloc::{Allocator, AllocatorStats};

/// Dirty pools kept resident by default: sixteen arenas' worth (16 MiB), as much as the spare
/// arenas, so that the pools of a spare arena are still resident when it is reused.
pub const DEFAULT_DIRTY_POOL_LIMIT: usize = 16 * POOLS_PER_ARENA;

/// Entirely empty arenas kept mapped by default (see [`PoolAllocator::with_spare_arena_limit`]).
pub const DEFAULT_SPARE_ARENA_LIMIT: usize = 16;

/// CPython's small-object allocator, with empty pools' pages handed back to the OS; see the
/// [module docs](super) for the model.
///
/// One allocator serves one heap on one thread: it takes no lock, and it is `!Sync`. It is `Send`:
/// it may move to another thread together with everything it holds.
///
/// ```
/// use std::alloc::Layout;
/// use gc_core::{Allocator, alloc::PoolAllocator};
///
/// let pool = PoolAllocator::new();
/// let layout = Layout::from_size_align(48, 8).unwrap();
/// let block = pool.allocate(layout).unwrap();
/// assert_eq!(pool.stats().arenas_live, 1);
/// // SAFETY: `block` came from `pool` with `layout` and is not used again.
/// unsafe { pool.deallocate(block, layout) };
/// assert_eq!(pool.stats().blocks_in_use, 0);
/// assert!(pool.report().contains("# arenas allocated total"));
/// ```
pub struct PoolAllocator {
    state: UnsafeCell<State>,
}

// SAFETY: the allocator owns its arenas and its large blocks outright, and nothing in it refers to
// the thread that created it (no thread-locals, no thread ids). Moving it moves the ownership;
// `!Sync` still keeps two threads from using it at once.
unsafe impl Send for PoolAllocator {}

/// Everything the allocator knows. Raw pointers all point into mapped arenas.
pub(super) struct State {
    /// `used[class]`: the pools of `class` with a free block (CPython's `usedpools`), linked
    /// through `PoolHeader::next`/`prev`.
    pub(super) used: [*mut PoolHeader; NUM_SIZE_CLASSES],
    /// Arenas with an empty pool, fullest first.
    pub(super) usable: UsableArenas,
    /// Empty pools with resident pages, oldest last.
    pub(super) dirty: DirtyPools,
    /// Every mapped arena, linked through `ArenaHeader::all_next`/`all_prev`.
    pub(super) all: *mut ArenaHeader,
    /// Entirely empty arenas kept mapped, at most `spare_limit`.
    pub(super) spares: SpareArenas,
    /// Spare arenas kept before the one emptied the longest ago is unmapped.
    pub(super) spare_limit: usize,
    /// Page geometry (`size == 0` until the first arena is mapped).
    pub(super) pages: Pages,
    /// Dirty pools kept before the oldest is released.
    pub(super) dirty_limit: usize,

    pub(super) blocks_in_use: usize,
    pub(super) bytes_in_use: usize,
    pub(super) large_blocks: usize,
    pub(super) large_bytes: usize,
    pub(super) arenas_allocated: usize,
    pub(super) arenas_freed: usize,
    pub(super) arenas_highwater: usize,
    /// Bytes of mapped arenas released now: the sum of the pools' released page masks.
    pub(super) bytes_released: usize,
    pub(super) bytes_released_total: u64,
    pub(super) madvise_calls: u64,
}

impl Default for PoolAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl PoolAllocator {
    /// An allocator holding no memory yet; the first small request maps the first arena.
    pub const fn new() -> Self {
        PoolAllocator {
            state: UnsafeCell::new(State {
                used: [ptr::null_mut(); NUM_SIZE_CLASSES],
                usable: UsableArenas::new(),
                dirty: DirtyPools::new(),
                all: ptr::null_mut(),
                spares: SpareArenas::new(),
                spare_limit: DEFAULT_SPARE_ARENA_LIMIT,
                pages: Pages {
                    size: 0,
                    per_pool: 0,
                },
                dirty_limit: DEFAULT_DIRTY_POOL_LIMIT,
                blocks_in_use: 0,
                bytes_in_use: 0,
                large_blocks: 0,
                large_bytes: 0,
                arenas_allocated: 0,
                arenas_freed: 0,
                arenas_highwater: 0,
                bytes_released: 0,
                bytes_released_total: 0,
                madvise_calls: 0,
            }),
        }
    }

    /// Sets how many empty pools stay resident before the one empty the longest has its pages
    /// released (default [`DEFAULT_DIRTY_POOL_LIMIT`]). 0 releases every pool as soon as it is
    /// empty; `usize::MAX` never releases (CPython's behaviour: memory goes back arena by arena
    /// only).
    pub fn with_dirty_pool_limit(mut self, pools: usize) -> Self {
        let state = self.state.get_mut();
        state.dirty_limit = pools;
        // SAFETY: the dirty list holds pools of mapped arenas.
        unsafe { state.enforce_dirty_limit() };
        self
    }

    /// Sets how many entirely empty arenas stay mapped for reuse before the one empty the longest
    /// is unmapped (default [`DEFAULT_SPARE_ARENA_LIMIT`]). CPython keeps one; 0 unmaps every
    /// arena as soon as it is empty. [`Allocator::release_empty`] and [`Allocator::trim`] give
    /// them back whatever the limit.
    pub fn with_spare_arena_limit(mut self, arenas: usize) -> Self {
        let state = self.state.get_mut();
        state.spare_limit = arenas;
        // SAFETY: the spares are mapped, empty arenas in no other list.
        unsafe { state.enforce_spare_limit() };
        self
    }

    /// The spare arena limit.
    pub fn spare_arena_limit(&self) -> usize {
        // SAFETY: a short read; no other access to the state is in progress (see `state`).
        unsafe { self.state() }.spare_limit
    }

    /// The dirty pool limit.
    pub fn dirty_pool_limit(&self) -> usize {
        // SAFETY: a short read; no other access to the state is in progress (see `state`).
        unsafe { self.state() }.dirty_limit
    }

    /// The state, exclusively.
    ///
    /// # Safety
    ///
    /// No other reference to the state is alive. This holds because the allocator is `!Sync`
    /// (one thread), no method keeps the reference past its return, and no method calls back into
    /// code that could re-enter the allocator (it calls only the OS and the global allocator).
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    unsafe fn state(&self) -> &mut State {
        // SAFETY: forwarded: the caller guarantees exclusivity.
        unsafe { &mut *self.state.get() }
    }

    /// A full snapshot of the allocator, walking every arena (O(arenas)).
    pub fn pool_stats(&self) -> PoolStats {
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        state.pool_stats()
    }

    /// [`PoolStats::report`]: a text report in the layout of CPython's `sys._debugmallocstats()`.
    pub fn report(&self) -> String {
        self.pool_stats().report()
    }

    /// Checks every internal invariant (for the tests).
    #[cfg(test)]
    pub(super) fn check(&self) -> Result<(), String> {
        // SAFETY: see `state`.
        unsafe { self.state() }.check()
    }

    /// Serves a request the pools do not serve.
    #[cold]
    fn allocate_large(&self, layout: Layout) -> Option<NonNull<u8>> {
        let system = large_layout(layout)?;
        // SAFETY: `system` has a non-zero size.
        let block = NonNull::new(unsafe { std::alloc::alloc(system) })?;
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        state.blocks_in_use += 1;
        state.bytes_in_use += layout.size();
        state.large_blocks += 1;
        state.large_bytes += layout.size();
        Some(block)
    }

    /// Returns a block served by [`PoolAllocator::allocate_large`].
    ///
    /// # Safety
    ///
    /// As [`Allocator::deallocate`], for a layout the pools do not serve.
    #[cold]
    unsafe fn deallocate_large(&self, block: NonNull<u8>, layout: Layout) {
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        state.blocks_in_use -= 1;
        state.bytes_in_use -= layout.size();
        state.large_blocks -= 1;
        state.large_bytes -= layout.size();
        let system = large_layout(layout).expect("the layout was served, so it converts");
        // SAFETY: `allocate_large` got `block` from the global allocator with `system`, which is
        // a function of `layout`, the same layout (caller's promise).
        unsafe { std::alloc::dealloc(block.as_ptr(), system) }
    }
}

/// The layout asked of the system allocator for a request the pools do not serve: the request
/// itself, except that a zero size (possible only with an alignment above 16) becomes one
/// alignment's worth, because the global allocator must not be asked for zero bytes. `None` if
/// that is not a valid layout.
fn large_layout(layout: Layout) -> Option<Layout> {
    if layout.size() == 0 {
        Layout::from_size_align(layout.align(), layout.align()).ok()
    } else {
        Some(layout)
    }
}

// SAFETY: every block comes either from the system allocator with a valid non-zero layout, or from
// a pool: a block of `block_size(class) >= layout.size()` bytes, aligned to 16 `>= layout.align()`
// (pools are aligned to `POOL_SIZE`, first blocks to 16, sizes are multiples of 16), inside a
// mapped arena that stays mapped while it holds a block in use. A pool block is handed out only
// from the free list, the bump region or the parked blocks, which hold only free blocks, each once.
unsafe impl Allocator for PoolAllocator {
    fn name(&self) -> &'static str {
        "pool"
    }

    #[inline]
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        let Some(class) = size_class(layout) else {
            return self.allocate_large(layout);
        };
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        let pool = state.used[class];
        let block = if pool.is_null() {
            // SAFETY: `class` is a valid class with no pool in its used list.
            unsafe { state.allocate_from_new_pool(class)? }
        } else {
            // SAFETY: this is safe because:
            //  [1] a pool in a used list is a header of a mapped arena, in state `Used`, with a
            //      non-empty free list;
            //  [2] every block of a free list holds the next block (or null) in its first word,
            //      written when the block joined the list; blocks are aligned to 16.
            unsafe {
                let block = (*pool).freeblock;
                let next = block.cast::<*mut u8>().read();
                (*pool).freeblock = next;
                (*pool).count += 1;
                if next.is_null() {
                    state.refill(pool, class);
                }
                block
            }
        };
        state.blocks_in_use += 1;
        state.bytes_in_use += layout.size();
        // SAFETY: blocks are inside mapped arenas, never at address 0.
        Some(unsafe { NonNull::new_unchecked(block) })
    }

    #[inline]
    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout) {
        let Some(class) = size_class(layout) else {
            // SAFETY: forwarded contract; the pools did not serve this layout.
            return unsafe { self.deallocate_large(block, layout) };
        };
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        state.blocks_in_use -= 1;
        state.bytes_in_use -= layout.size();
        let block = block.as_ptr();
        // SAFETY: this is safe because:
        //  [1] the caller guarantees `block` came from `allocate` with `layout`, so from a pool of
        //      `class` in a mapped arena (an arena holding a block in use is never unmapped), whose
        //      header `pool_of_block` finds;
        //  [2] the block is at least 16 bytes, aligned to 16, and no longer used by the caller: its
        //      first word can hold the free-list link.
        unsafe {
            let pool = ArenaHeader::pool_of_block(block);
            debug_assert_eq!(
                (*pool).state,
                PoolState::Used,
                "block freed twice or not ours"
            );
            debug_assert_eq!(
                usize::from((*pool).class),
                class,
                "freed with another layout"
            );
            let last = (*pool).freeblock;
            block.cast::<*mut u8>().write(last);
            (*pool).freeblock = block;
            (*pool).count -= 1;
            if last.is_null() || (*pool).count == 0 {
                state.free_slow(pool, last.is_null());
            }
        }
    }

    fn stats(&self) -> AllocatorStats {
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        let arenas_live = state.arenas_allocated - state.arenas_freed;
        AllocatorStats {
            blocks_in_use: state.blocks_in_use,
            bytes_in_use: state.bytes_in_use,
            bytes_mapped: arenas_live * ARENA_SIZE,
            bytes_released: state.bytes_released,
            arenas_live,
            arenas_allocated: state.arenas_allocated,
            arenas_freed: state.arenas_freed,
        }
    }

    /// Unmaps the spare arenas, releases the pages of every empty pool, and releases the pages of
    /// pools in use that hold only free blocks (parking those blocks until the pool needs them).
    fn trim(&self) -> usize {
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        // SAFETY: the state's lists hold pools and arenas that are mapped.
        unsafe { state.trim() }
    }

    /// Unmaps every spare arena but one and releases the pages of every empty pool (that spare's
    /// included): memory kept for reuse goes back, pools in use are left alone.
    fn release_empty(&self) -> usize {
        // SAFETY: see `state`.
        let state = unsafe { self.state() };
        let before = state.bytes_released_total;
        // SAFETY: the state's lists hold pools and arenas that are mapped.
        let unmapped = unsafe { state.release_empty(true) };
        (state.bytes_released_total - before) as usize + unmapped
    }
}

impl Drop for PoolAllocator {
    /// Unmaps every arena that holds no block in use. Arenas (and large blocks) still holding
    /// blocks are leaked, as a dropped system allocator would leave them: a heap dropped at thread
    /// exit may still have objects referenced from elsewhere, and those must stay valid.
    fn drop(&mut self) {
        let state = self.state.get_mut();
        let mut arena = state.all;
        while !arena.is_null() {
            // SAFETY: `arena` is in the list of mapped arenas; it is read before being unmapped,
            // and an arena whose pools are all empty holds no block anyone uses.
            unsafe {
                let next = (*arena).all_next;
                if (*arena).nfreepools == POOLS_PER_ARENA {
                    state.unmap_arena(arena);
                }
                arena = next;
            }
        }
        state.spares = SpareArenas::new();
    }
}

impl fmt::Debug for PoolAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = self.stats();
        f.debug_struct("PoolAllocator")
            .field("blocks_in_use", &stats.blocks_in_use)
            .field("arenas_live", &stats.arenas_live)
            .field("bytes_released", &stats.bytes_released)
            .finish_non_exhaustive()
    }
}

impl State {
    /// Puts a pool at the front of its class's used list.
    ///
    /// # Safety
    ///
    /// `pool` is a pool in state `Used` serving `class`, in no list.
    unsafe fn link_used(&mut self, pool: *mut PoolHeader, class: usize) {
        let head = self.used[class];
        // SAFETY: `pool` and the pools of the used list are headers of mapped arenas.
        unsafe {
            (*pool).prev = ptr::null_mut();
            (*pool).next = head;
            if !head.is_null() {
                (*head).prev = pool;
            }
        }
        self.used[class] = pool;
    }

    /// Takes a pool out of its class's used list.
    ///
    /// # Safety
    ///
    /// `pool` is in the used list of `class`.
    unsafe fn unlink_used(&mut self, pool: *mut PoolHeader, class: usize) {
        // SAFETY: `pool` and its neighbours are headers of mapped arenas in this list.
        unsafe {
            let (prev, next) = ((*pool).prev, (*pool).next);
            if prev.is_null() {
                self.used[class] = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*pool).next = ptr::null_mut();
            (*pool).prev = ptr::null_mut();
        }
    }

    /// The free list of a pool in the used list of `class` just ran out.
    ///
    /// # Safety
    ///
    /// As [`pool::refill`]; `pool` is in the used list of `class`.
    unsafe fn refill(&mut self, pool: *mut PoolHeader, class: usize) {
        // SAFETY: forwarded.
        match unsafe { pool::refill(pool, self.pages) } {
            Refill::Bumped => {}
            Refill::Unparked(pages) => self.bytes_released -= self.pages.bytes(pages),
            // SAFETY: the pool is in the used list of `class` (caller's promise).
            Refill::Full => unsafe { self.unlink_used(pool, class) },
        }
    }

    /// Allocates from a new pool for `class`: from the fullest usable arena, else the spare, else
    /// a newly mapped arena. (CPython: `allocate_from_new_pool`.)
    ///
    /// # Safety
    ///
    /// `class < NUM_SIZE_CLASSES` and its used list is empty.
    #[cold]
    unsafe fn allocate_from_new_pool(&mut self, class: usize) -> Option<*mut u8> {
        debug_assert!(self.used[class].is_null());
        // SAFETY: arenas in the usable list and the spare are mapped; the head of the usable list
        // has an empty pool; the pool taken is empty and, once out of its lists, in none.
        unsafe {
            if self.usable.head().is_null() {
                let spare = self.spares.pop();
                let arena = if spare.is_null() {
                    self.map_arena()?
                } else {
                    spare
                };
                self.usable.insert_only(arena);
            }
            let arena = self.usable.head();
            let pool = ArenaHeader::pop_free(arena);
            self.usable.took_pool();
            match (*pool).state {
                PoolState::Dirty => self.dirty.remove(pool),
                PoolState::Fresh | PoolState::Released => {}
                PoolState::Used => unreachable!("a pool in use in an empty-pool list"),
            }
            self.bytes_released -= self.pages.bytes((*pool).released);
            let block = pool::init(pool, class);
            self.link_used(pool, class);
            Some(block)
        }
    }

    /// A free made a full pool non-full (`was_full`), or a pool empty, or both.
    ///
    /// # Safety
    ///
    /// `pool` is a pool in state `Used` of a mapped arena whose free list the free just pushed to;
    /// it is in its class's used list unless `was_full`.
    #[cold]
    unsafe fn free_slow(&mut self, pool: *mut PoolHeader, was_full: bool) {
        // SAFETY: `pool` is a header of a mapped arena; its arena's header is initialised.
        unsafe {
            let class = usize::from((*pool).class);
            if was_full {
                // CPython: a full pool that gets a block back goes to the front of its class.
                self.link_used(pool, class);
            }
            if (*pool).count > 0 {
                return;
            }
            // Empty: it may serve any class next.
            self.unlink_used(pool, class);
            // Its free list is dropped when it serves again (`pool::init` starts it over).
            (*pool).state = PoolState::Dirty;
            let arena = ArenaHeader::of(pool);
            ArenaHeader::push_free_front(arena, pool);
            self.dirty.push(pool);
            if self.usable.returned_pool(arena) == Returned::Empty {
                // Keep the arena just emptied as a spare (its pages are the most likely to be
                // resident); unmap the one emptied the longest ago if there are too many.
                self.spares.push(arena);
                self.enforce_spare_limit();
            }
            self.enforce_dirty_limit();
        }
    }

    /// Unmaps the spare arenas emptied the longest ago until no more than the limit are left.
    ///
    /// # Safety
    ///
    /// The spares are mapped, entirely empty arenas in no list but the list of all arenas.
    unsafe fn enforce_spare_limit(&mut self) {
        while self.spares.len() > self.spare_limit {
            let oldest = self.spares.pop_oldest();
            // SAFETY: a spare: mapped, empty, out of the stack now.
            unsafe { self.unmap_arena(oldest) };
        }
    }

    /// See [`Allocator::release_empty`]: unmaps every spare arena but the one emptied last (or
    /// every one, unless `keep_spare`) and releases the pages of every dirty pool (the kept
    /// spare's included); returns the bytes unmapped (pages released are counted in
    /// `bytes_released_total`).
    ///
    /// # Safety
    ///
    /// The state's lists are consistent (always, between calls).
    unsafe fn release_empty(&mut self, keep_spare: bool) -> usize {
        let mut unmapped = 0;
        let keep = self.spares.pop();
        // SAFETY: the spares are mapped and empty; the dirty list holds pools of mapped arenas.
        unsafe {
            loop {
                let spare = self.spares.pop();
                if spare.is_null() {
                    break;
                }
                unmapped += ARENA_SIZE - self.unmap_arena(spare);
            }
            if !keep.is_null() {
                if keep_spare {
                    self.spares.push(keep);
                } else {
                    unmapped += ARENA_SIZE - self.unmap_arena(keep);
                }
            }
            while self.dirty.len() > 0 {
                self.release_pool(self.dirty.oldest());
            }
        }
        unmapped
    }

    /// Releases the oldest dirty pools until no more than the limit are left.
    ///
    /// # Safety
    ///
    /// The dirty list holds pools of mapped arenas.
    unsafe fn enforce_dirty_limit(&mut self) {
        while self.dirty.len() > self.dirty_limit {
            // SAFETY: the list is not empty; its pools are dirty pools of mapped arenas.
            unsafe { self.release_pool(self.dirty.oldest()) };
        }
    }

    /// Releases the pages of an empty pool with `madvise`: it leaves the dirty list and goes to
    /// the back of its arena's empty-pool list. Its header stays valid (it is not in its pages).
    ///
    /// # Safety
    ///
    /// `pool` is in the dirty list.
    unsafe fn release_pool(&mut self, pool: *mut PoolHeader) {
        // SAFETY: a dirty pool of a mapped arena: empty, so its pages hold nothing live.
        unsafe {
            debug_assert_eq!((*pool).state, PoolState::Dirty);
            self.dirty.remove(pool);
            let mask = self.pages.releasable(usize::from((*pool).index)) & !(*pool).released;
            if mask != 0 {
                self.madvise_calls += pool::release_pages(pool, mask, self.pages) as u64;
                (*pool).released |= mask;
                self.bytes_released += self.pages.bytes(mask);
                self.bytes_released_total += self.pages.bytes(mask) as u64;
            }
            (*pool).state = PoolState::Released;
            let arena = ArenaHeader::of(pool);
            ArenaHeader::remove_free(arena, pool);
            ArenaHeader::push_free_back(arena, pool);
        }
    }

    /// Maps and initialises a new arena.
    ///
    /// # Safety
    ///
    /// None beyond `&mut self`; unsafe because it writes the new arena's header.
    unsafe fn map_arena(&mut self) -> Option<*mut ArenaHeader> {
        if self.pages.size == 0 {
            self.pages = Pages::new(os::page_size());
        }
        let base = os::map_arena()?;
        // SAFETY: a fresh arena nobody else knows about.
        let arena = unsafe { ArenaHeader::init(base) };
        // SAFETY: `arena` and the head of the list of all arenas are mapped.
        unsafe {
            (*arena).all_next = self.all;
            if !self.all.is_null() {
                (*self.all).all_prev = arena;
            }
        }
        self.all = arena;
        self.arenas_allocated += 1;
        let live = self.arenas_allocated - self.arenas_freed;
        self.arenas_highwater = self.arenas_highwater.max(live);
        Some(arena)
    }

    /// Unmaps an arena whose pools are all empty; returns its bytes that were released.
    ///
    /// # Safety
    ///
    /// `arena` is mapped, holds no block in use, and is in no list but the list of all arenas.
    unsafe fn unmap_arena(&mut self, arena: *mut ArenaHeader) -> usize {
        let mut released = 0;
        // SAFETY: the arena's header is valid until `unmap_arena` below; its dirty pools are in
        // the dirty list.
        unsafe {
            for index in 0..POOLS_PER_ARENA {
                let pool = ArenaHeader::pool(arena, index);
                debug_assert_ne!((*pool).state, PoolState::Used);
                if (*pool).state == PoolState::Dirty {
                    self.dirty.remove(pool);
                }
                released += self.pages.bytes((*pool).released);
            }
            let (prev, next) = ((*arena).all_prev, (*arena).all_next);
            if prev.is_null() {
                self.all = next;
            } else {
                (*prev).all_next = next;
            }
            if !next.is_null() {
                (*next).all_prev = prev;
            }
            os::unmap_arena(NonNull::new_unchecked(arena.cast()));
        }
        self.bytes_released -= released;
        self.arenas_freed += 1;
        released
    }

    /// See [`Allocator::trim`]; returns the bytes given back (released or unmapped).
    ///
    /// # Safety
    ///
    /// The state's lists are consistent (always, between calls).
    unsafe fn trim(&mut self) -> usize {
        let before = self.bytes_released_total;
        // SAFETY: the spares, the dirty pools and the used pools are all in mapped arenas; a pool
        // whose free list `pool::trim` empties leaves its used list.
        let unmapped = unsafe { self.release_empty(false) };
        // SAFETY: as above.
        unsafe {
            for class in 0..NUM_SIZE_CLASSES {
                let mut pool = self.used[class];
                while !pool.is_null() {
                    let next = (*pool).next;
                    let (released, calls) = pool::trim(pool, self.pages);
                    if released != 0 {
                        self.madvise_calls += calls as u64;
                        self.bytes_released += self.pages.bytes(released);
                        self.bytes_released_total += self.pages.bytes(released) as u64;
                        if (*pool).freeblock.is_null() {
                            self.unlink_used(pool, class);
                        }
                    }
                    pool = next;
                }
            }
        }
        (self.bytes_released_total - before) as usize + unmapped
    }

    /// Walks every arena and fills a [`PoolStats`].
    fn pool_stats(&self) -> PoolStats {
        let mut classes: Vec<ClassStats> = (0..NUM_SIZE_CLASSES)
            .map(|class| ClassStats {
                block_size: block_size(class),
                ..ClassStats::default()
            })
            .collect();
        let arenas_live = self.arenas_allocated - self.arenas_freed;
        let mut stats = PoolStats {
            arenas_allocated: self.arenas_allocated,
            arenas_freed: self.arenas_freed,
            arenas_highwater: self.arenas_highwater,
            arenas_live,
            spare_arenas: self.spares.len(),
            spare_arena_limit: self.spare_limit,
            dirty_pool_limit: self.dirty_limit,
            bytes_mapped: arenas_live * ARENA_SIZE,
            bytes_in_arena_headers: arenas_live * HEADER_SIZE,
            bytes_released: self.bytes_released,
            bytes_released_total: self.bytes_released_total,
            madvise_calls: self.madvise_calls,
            page_size: self.pages.size,
            blocks_in_use: self.blocks_in_use,
            bytes_in_use: self.bytes_in_use,
            large_blocks: self.large_blocks,
            large_bytes: self.large_bytes,
            ..PoolStats::default()
        };
        let mut arena = self.all;
        while !arena.is_null() {
            for index in 0..POOLS_PER_ARENA {
                // SAFETY: `arena` is in the list of mapped arenas; its pool headers are valid.
                let pool = unsafe { &*ArenaHeader::pool(arena, index) };
                let usable = POOL_SIZE - first_block_offset(index);
                match pool.state {
                    PoolState::Used => {
                        let class = usize::from(pool.class);
                        let size = block_size(class);
                        let capacity = pool::capacity(index, class);
                        let in_use = usize::from(pool.count);
                        let row = &mut classes[class];
                        row.pools += 1;
                        row.full_pools += usize::from(in_use == capacity);
                        row.blocks_in_use += in_use;
                        row.blocks_free += capacity - in_use;
                        stats.pools_used += 1;
                        stats.bytes_in_allocated_blocks += in_use * size;
                        stats.bytes_in_free_blocks += (capacity - in_use) * size;
                        stats.bytes_lost_to_quantization += usable - capacity * size;
                    }
                    PoolState::Fresh => stats.pools_fresh += 1,
                    PoolState::Dirty => stats.pools_dirty += 1,
                    PoolState::Released => stats.pools_released += 1,
                }
                if pool.state != PoolState::Used {
                    stats.bytes_in_empty_pools += usable;
                }
            }
            // SAFETY: as above.
            arena = unsafe { (*arena).all_next };
        }
        stats.classes = classes;
        stats
    }
}
