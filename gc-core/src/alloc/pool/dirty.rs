//! Dirty pools: empty pools whose pages are still resident, oldest released first.
//!
//! CPython keeps an empty pool's memory until its whole arena is empty. Here a pool that becomes
//! empty joins this list; once the list is longer than the allocator's dirty limit, the pool that
//! has been empty the longest has its pages released with `madvise` (see [`super::os`]) and leaves
//! the list. The limit is hysteresis: a program that frees a pool's last block and allocates again
//! right away reuses a resident pool and pays no system call, and a program that has shrunk gives
//! back everything above the limit.
//!
//! The list is intrusive (links in the pool headers, which are in the arena header, not in the
//! pool's pages): linking and unlinking are O(1), and reusing a dirty pool takes it out from
//! wherever it is.

use std::ptr;

use super::pool::{PoolHeader, PoolState};

/// The dirty pools of all arenas, most recently emptied first.
pub(super) struct DirtyPools {
    head: *mut PoolHeader,
    tail: *mut PoolHeader,
    len: usize,
}

impl DirtyPools {
    /// An empty list.
    pub(super) const fn new() -> Self {
        DirtyPools {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            len: 0,
        }
    }

    /// Pools in the list.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The pool that has been dirty the longest, or null.
    pub(super) fn oldest(&self) -> *mut PoolHeader {
        self.tail
    }

    /// Adds a pool that just became empty.
    ///
    /// # Safety
    ///
    /// `pool` is a pool of a mapped arena, in state `Dirty`, not in this list.
    pub(super) unsafe fn push(&mut self, pool: *mut PoolHeader) {
        // SAFETY: headers of mapped arenas; every pool in the list is one.
        unsafe {
            debug_assert_eq!((*pool).state, PoolState::Dirty);
            (*pool).dirty_prev = ptr::null_mut();
            (*pool).dirty_next = self.head;
            if self.head.is_null() {
                self.tail = pool;
            } else {
                (*self.head).dirty_prev = pool;
            }
            self.head = pool;
        }
        self.len += 1;
    }

    /// Takes a pool out of the list.
    ///
    /// # Safety
    ///
    /// `pool` is in this list.
    pub(super) unsafe fn remove(&mut self, pool: *mut PoolHeader) {
        // SAFETY: `pool` and its neighbours are headers of mapped arenas in this list.
        unsafe {
            let (prev, next) = ((*pool).dirty_prev, (*pool).dirty_next);
            if prev.is_null() {
                self.head = next;
            } else {
                (*prev).dirty_next = next;
            }
            if next.is_null() {
                self.tail = prev;
            } else {
                (*next).dirty_prev = prev;
            }
            (*pool).dirty_next = ptr::null_mut();
            (*pool).dirty_prev = ptr::null_mut();
        }
        self.len -= 1;
    }

    /// Walks the list, most recent first (for the invariant checks of the tests).
    #[cfg(test)]
    pub(super) fn for_each(&self, mut f: impl FnMut(*mut PoolHeader)) {
        let mut pool = self.head;
        while !pool.is_null() {
            f(pool);
            // SAFETY: every pool in the list is a header of a mapped arena.
            pool = unsafe { (*pool).dirty_next };
        }
    }
}
