//! The allocator's invariants, checked from scratch by the tests after every step.

use super::allocator::State;
use super::arena::{first_block_offset, ArenaHeader, POOLS_PER_ARENA, POOL_SIZE};
use super::pool::{self, PoolHeader, PoolState};
use super::size_class::{block_size, NUM_SIZE_CLASSES};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl State {
    /// Checks every invariant the allocator relies on; describes the first one broken.
    pub(super) fn check(&self) -> Result<(), String> {
        // SAFETY: every pointer reached from the state is into a mapped arena (what is checked is
        // the bookkeeping, not the mapping), and free-list blocks hold their links.
        unsafe { self.check_inner() }
    }

    /// # Safety
    ///
    /// Every arena the state links to is mapped, and the free lists of pools in use hold their
    /// links (what is checked is the bookkeeping on top of that).
    unsafe fn check_inner(&self) -> Result<(), String> {
        // SAFETY: see `check`.
        unsafe {
            let pages = self.pages;
            // All arenas.
            let mut arenas = Vec::new();
            let mut arena = self.all;
            let mut prev = std::ptr::null_mut();
            while !arena.is_null() {
                ensure!((*arena).all_prev == prev, "all-arena list: bad prev link");
                arenas.push(arena);
                prev = arena;
                arena = (*arena).all_next;
            }
            ensure!(
                arenas.len() == self.arenas_allocated - self.arenas_freed,
                "{} arenas linked, {} live by the counters",
                arenas.len(),
                self.arenas_allocated - self.arenas_freed
            );
            ensure!(
                arenas.iter().filter(|&&a| self.spares.contains(a)).count() == self.spares.len(),
                "a spare arena is not in the list of mapped arenas"
            );
            // The usable list: sorted, `last_with` right, members have an empty pool and a pool
            // in use.
            let mut usable = Vec::new();
            let mut arena = self.usable.head();
            let mut prev = std::ptr::null_mut::<ArenaHeader>();
            while !arena.is_null() {
                let n = (*arena).nfreepools;
                ensure!((*arena).prev == prev, "usable list: bad prev link");
                ensure!(
                    n > 0 && n < POOLS_PER_ARENA,
                    "usable arena with {n} empty pools"
                );
                if !prev.is_null() {
                    ensure!((*prev).nfreepools <= n, "usable list not sorted");
                }
                let next = (*arena).next;
                let last = next.is_null() || (*next).nfreepools != n;
                ensure!(
                    (self.usable.last_with(n) == arena) == last,
                    "last_with[{n}] wrong"
                );
                usable.push(arena);
                prev = arena;
                arena = next;
            }
            for n in 0..=POOLS_PER_ARENA {
                let last = self.usable.last_with(n);
                ensure!(
                    last.is_null() || usable.contains(&last),
                    "last_with[{n}] points outside the list"
                );
            }
            ensure!(
                !usable.iter().any(|&arena| self.spares.contains(arena)),
                "a spare is in the usable list"
            );
            ensure!(
                self.spares.len() <= self.spare_limit,
                "{} spares, limit {}",
                self.spares.len(),
                self.spare_limit
            );
            // Per arena and per pool.
            let mut released_bytes = 0;
            let mut dirty_pools = Vec::new();
            let mut listed_used = Vec::new();
            for class in 0..NUM_SIZE_CLASSES {
                let mut pool = self.used[class];
                let mut prev = std::ptr::null_mut::<PoolHeader>();
                while !pool.is_null() {
                    ensure!((*pool).prev == prev, "used list {class}: bad prev link");
                    ensure!(
                        (*pool).state == PoolState::Used,
                        "used list {class}: pool not used"
                    );
                    ensure!(
                        usize::from((*pool).class) == class,
                        "used list {class}: pool of class {}",
                        (*pool).class
                    );
                    ensure!(
                        !(*pool).freeblock.is_null(),
                        "used list {class}: no free block"
                    );
                    listed_used.push(pool);
                    prev = pool;
                    pool = (*pool).next;
                }
            }
            listed_used.sort_unstable();
            let used_count = listed_used.len();
            listed_used.dedup();
            ensure!(
                listed_used.len() == used_count,
                "a pool twice in the used lists"
            );
            for &arena in &arenas {
                let empty = (*arena).nfreepools;
                let in_list = usable.contains(&arena);
                if self.spares.contains(arena) {
                    ensure!(empty == POOLS_PER_ARENA, "a spare has pools in use");
                } else {
                    ensure!(
                        empty < POOLS_PER_ARENA,
                        "an empty arena that is not a spare"
                    );
                    ensure!(
                        in_list == (empty > 0),
                        "arena with {empty} empty pools, listed: {in_list}"
                    );
                }
                // The empty-pool list: dirty pools first, then released ones; then the fresh.
                let mut listed = [false; POOLS_PER_ARENA];
                let mut listed_count = 0;
                let mut pool = (*arena).free_head;
                let mut prev = std::ptr::null_mut::<PoolHeader>();
                let mut seen_released = false;
                while !pool.is_null() {
                    ensure!((*pool).prev == prev, "empty-pool list: bad prev link");
                    ensure!(
                        ArenaHeader::of(pool) == arena,
                        "empty pool of another arena"
                    );
                    match (*pool).state {
                        PoolState::Dirty => {
                            ensure!(!seen_released, "dirty pool after a released one")
                        }
                        PoolState::Released => seen_released = true,
                        state => return Err(format!("{state:?} pool in the empty-pool list")),
                    }
                    let index = usize::from((*pool).index);
                    ensure!(!listed[index], "pool twice in the empty-pool list");
                    listed[index] = true;
                    listed_count += 1;
                    prev = pool;
                    pool = (*pool).next;
                }
                ensure!((*arena).free_tail == prev, "empty-pool list: bad tail");
                let fresh = (*arena).fresh;
                ensure!(fresh <= POOLS_PER_ARENA, "fresh index {fresh}");
                ensure!(
                    listed_count + POOLS_PER_ARENA - fresh == empty,
                    "nfreepools {empty}, {listed_count} listed, {} fresh",
                    POOLS_PER_ARENA - fresh
                );
                for (index, &is_listed) in listed.iter().enumerate() {
                    let pool = ArenaHeader::pool(arena, index);
                    ensure!(usize::from((*pool).index) == index, "pool index");
                    let releasable = pages.releasable(index);
                    ensure!(
                        (*pool).released & !releasable == 0,
                        "released pages outside the releasable ones"
                    );
                    released_bytes += pages.bytes((*pool).released);
                    match (*pool).state {
                        PoolState::Used => check_used_pool(
                            pool,
                            index,
                            listed_used.binary_search(&pool).is_ok(),
                            pages,
                        )?,
                        PoolState::Fresh => {
                            ensure!((*pool).released == 0, "fresh pool with released pages")
                        }
                        PoolState::Dirty => dirty_pools.push(pool),
                        PoolState::Released => ensure!(
                            (*pool).released == releasable,
                            "released pool with resident pages"
                        ),
                    }
                    ensure!(
                        ((*pool).state == PoolState::Fresh) == (index >= fresh),
                        "pool {index}: fresh if and only if not yet carved ({fresh})"
                    );
                    ensure!(
                        matches!((*pool).state, PoolState::Dirty | PoolState::Released)
                            == is_listed,
                        "pool {index}: listed if and only if empty and used before"
                    );
                }
            }
            ensure!(
                released_bytes == self.bytes_released,
                "bytes released: {released_bytes} by the masks, {} by the counter",
                self.bytes_released
            );
            let mut in_dirty_list = Vec::new();
            self.dirty.for_each(|pool| in_dirty_list.push(pool));
            ensure!(in_dirty_list.len() == self.dirty.len(), "dirty list length");
            in_dirty_list.sort_unstable();
            dirty_pools.sort_unstable();
            ensure!(
                in_dirty_list == dirty_pools,
                "dirty list and dirty pools differ"
            );
            ensure!(
                self.dirty.len() <= self.dirty_limit,
                "{} dirty pools, limit {}",
                self.dirty.len(),
                self.dirty_limit
            );
            // Blocks in use by the pools, against the counters.
            let mut in_pools = 0;
            for &arena in &arenas {
                for index in 0..POOLS_PER_ARENA {
                    in_pools += usize::from((*ArenaHeader::pool(arena, index)).count);
                }
            }
            ensure!(
                in_pools + self.large_blocks == self.blocks_in_use,
                "{in_pools} blocks in pools + {} large != {} in use",
                self.large_blocks,
                self.blocks_in_use
            );
            Ok(())
        }
    }
}

/// Checks one pool in use: its free list, bump region and parked blocks partition its free
/// blocks, and it is in its used list exactly when its free list is not empty.
///
/// # Safety
///
/// `pool` is the header of pool `index` of a mapped arena, in state `Used`; its free list's blocks
/// hold their links.
unsafe fn check_used_pool(
    pool: *mut PoolHeader,
    index: usize,
    listed: bool,
    pages: pool::Pages,
) -> Result<(), String> {
    // SAFETY: a pool in use of a mapped arena (caller's promise); its free blocks hold links.
    unsafe {
        let class = usize::from((*pool).class);
        let size = block_size(class);
        let first = first_block_offset(index);
        let capacity = pool::capacity(index, class);
        let count = usize::from((*pool).count);
        ensure!(
            count >= 1 && count <= capacity,
            "pool in use with {count} blocks"
        );
        ensure!(
            listed != (*pool).freeblock.is_null(),
            "pool in its used list: {listed}, free list empty: {}",
            (*pool).freeblock.is_null()
        );
        let base = pool::memory(pool);
        let next = usize::from((*pool).nextoffset);
        ensure!(
            usize::from((*pool).maxnextoffset) == first + (capacity - 1) * size,
            "maxnextoffset"
        );
        ensure!(
            next >= first && (next - first) % size == 0,
            "nextoffset off the grid"
        );
        let carved = ((next - first) / size).min(capacity);
        if (*pool).freeblock.is_null() && carved < capacity {
            return Err("empty free list with a bump region left".into());
        }
        let released = (*pool).released;
        let parked = |i: usize| {
            if released == 0 {
                return false;
            }
            let start = first + i * size;
            let (lo, hi) = (start / pages.size, (start + size - 1) / pages.size);
            (lo..=hi).any(|p| released & (1 << p) != 0)
        };
        let mut listed = [0u64; POOL_SIZE / 16 / 64];
        let mut listed_count = 0;
        let mut block = (*pool).freeblock;
        while !block.is_null() {
            let offset = block.addr().wrapping_sub(base.addr());
            ensure!(offset < POOL_SIZE, "free block outside its pool");
            ensure!(
                offset >= first && (offset - first) % size == 0,
                "free block off the grid"
            );
            let i = (offset - first) / size;
            ensure!(i < carved, "free-list block in the bump region");
            ensure!(!parked(i), "free-list block on a released page");
            ensure!(
                listed[i / 64] & (1 << (i % 64)) == 0,
                "block twice in the free list"
            );
            listed[i / 64] |= 1 << (i % 64);
            listed_count += 1;
            block = block.cast::<*mut u8>().read();
        }
        let parked_count = if released == 0 {
            0
        } else {
            (0..carved).filter(|&i| parked(i)).count()
        };
        ensure!(
            released == 0 || carved == capacity,
            "a bump region in a pool with released pages"
        );
        ensure!(
            count + listed_count + (capacity - carved) + parked_count == capacity,
            "blocks: {count} in use + {listed_count} listed + {} bump + {parked_count} parked \
             != {capacity}",
            capacity - carved
        );
        Ok(())
    }
}
