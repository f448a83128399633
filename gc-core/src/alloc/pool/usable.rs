//! The usable arenas: arenas with at least one empty pool, fullest first.
//!
//! A new pool always comes from the head of this list — the arena with the *fewest* empty pools —
//! so that allocation concentrates in the fullest arenas and nearly empty arenas get the chance to
//! drain completely and go back to the OS. This is CPython's `usable_arenas` (Tim Peters' change
//! for bpo-37257, `Objects/obmalloc.c`), and so is the trick that keeps it sorted in O(1):
//!
//! An arena's count of empty pools only ever changes by one. `last_with[n]` (CPython's
//! `nfp2lasta`) points at the *last* arena in the list with exactly `n` empty pools. When an
//! arena's count goes from `n` to `n + 1` it has to move just past the last arena with `n` — found
//! in O(1) from `last_with[n]` — and nowhere else: every arena after that one already has more
//! than `n`. When a count goes down it is always the head's (new pools come from the head), which
//! stays the head.
//!
//! Arenas that are full (no empty pool) are not in the list; arenas that are entirely empty are
//! taken out of it by the allocator (one is kept as the spare, the others are unmapped).

use std::ptr;

use super::arena::{ArenaHeader, POOLS_PER_ARENA};

/// The list of usable arenas, sorted by `nfreepools` ascending.
pub(super) struct UsableArenas {
    head: *mut ArenaHeader,
    /// `last_with[n]`: the last arena in the list with `n` empty pools, or null.
    last_with: [*mut ArenaHeader; POOLS_PER_ARENA + 1],
}

/// What [`UsableArenas::returned_pool`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Returned {
    /// The arena still has pools in use; it is at its sorted place in the list.
    InUse,
    /// Every pool of the arena is empty; it is no longer in the list.
    Empty,
}

impl UsableArenas {
    /// An empty list.
    pub(super) const fn new() -> Self {
        UsableArenas {
            head: ptr::null_mut(),
            last_with: [ptr::null_mut(); POOLS_PER_ARENA + 1],
        }
    }

    /// The arena new pools come from: the one with the fewest empty pools, or null.
    #[inline(always)]
    pub(super) fn head(&self) -> *mut ArenaHeader {
        self.head
    }

    /// The last arena with `n` empty pools (for the invariant checks of the tests).
    #[cfg(test)]
    pub(super) fn last_with(&self, n: usize) -> *mut ArenaHeader {
        self.last_with[n]
    }

    /// Makes an arena with every pool empty the only member of an empty list.
    ///
    /// # Safety
    ///
    /// The list is empty; `arena` is mapped, entirely empty and in no usable list.
    pub(super) unsafe fn insert_only(&mut self, arena: *mut ArenaHeader) {
        debug_assert!(self.head.is_null());
        // SAFETY: a mapped arena's header, referenced by no list.
        unsafe {
            (*arena).next = ptr::null_mut();
            (*arena).prev = ptr::null_mut();
            self.head = arena;
            self.last_with[(*arena).nfreepools] = arena;
        }
    }

    /// Records that the head arena gave away one of its empty pools. (CPython:
    /// `allocate_from_new_pool`.)
    ///
    /// # Safety
    ///
    /// The list is not empty.
    pub(super) unsafe fn took_pool(&mut self) {
        let arena = self.head;
        // SAFETY: the head is a mapped arena in this list; so is its successor.
        unsafe {
            let n = (*arena).nfreepools;
            debug_assert!(n > 0);
            if self.last_with[n] == arena {
                // It was the only one with `n` (it is the head: nothing before it has `n`).
                self.last_with[n] = ptr::null_mut();
            }
            if n > 1 {
                // Nothing had fewer than `n`, so nothing has `n - 1` yet.
                debug_assert!(self.last_with[n - 1].is_null());
                self.last_with[n - 1] = arena;
            }
            (*arena).nfreepools = n - 1;
            if n == 1 {
                // Full: out of the list.
                self.head = (*arena).next;
                if !self.head.is_null() {
                    (*self.head).prev = ptr::null_mut();
                }
                (*arena).next = ptr::null_mut();
            }
        }
    }

    /// Records that one more pool of `arena` is empty, and moves the arena to its sorted place (or
    /// out of the list, if every pool is now empty). (CPython: `insert_to_freepool`.)
    ///
    /// # Safety
    ///
    /// `arena` is mapped; it is in this list if and only if it had an empty pool before.
    pub(super) unsafe fn returned_pool(&mut self, arena: *mut ArenaHeader) -> Returned {
        // SAFETY: `arena` and every arena linked from this list are mapped.
        unsafe {
            let n = (*arena).nfreepools;
            let last = self.last_with[n];
            if n > 0 && last == arena {
                // Its predecessor, if it has `n` too, becomes the last with `n`.
                let prev = (*arena).prev;
                self.last_with[n] = if !prev.is_null() && (*prev).nfreepools == n {
                    prev
                } else {
                    ptr::null_mut()
                };
            }
            let n = n + 1;
            (*arena).nfreepools = n;
            if n == POOLS_PER_ARENA {
                // Entirely empty: the allocator keeps it as the spare or unmaps it. (It is not
                // `last_with[n]`: no entirely empty arena is ever in the list.)
                self.unlink(arena);
                return Returned::Empty;
            }
            if n == 1 {
                // It was full, so not in the list; one empty pool sorts first.
                (*arena).prev = ptr::null_mut();
                (*arena).next = self.head;
                if !self.head.is_null() {
                    (*self.head).prev = arena;
                }
                self.head = arena;
                if self.last_with[1].is_null() {
                    self.last_with[1] = arena;
                }
                return Returned::InUse;
            }
            if self.last_with[n].is_null() {
                self.last_with[n] = arena;
            }
            if last == arena {
                // Everything after it already has more than `n - 1`, so at least `n`.
                return Returned::InUse;
            }
            // Move it just past `last`, the last arena with `n - 1` empty pools.
            self.unlink(arena);
            (*arena).prev = last;
            (*arena).next = (*last).next;
            if !(*last).next.is_null() {
                (*(*last).next).prev = arena;
            }
            (*last).next = arena;
            Returned::InUse
        }
    }

    /// Takes `arena` out of the list (its `last_with` entries are the caller's business).
    ///
    /// # Safety
    ///
    /// `arena` is in this list.
    unsafe fn unlink(&mut self, arena: *mut ArenaHeader) {
        // SAFETY: `arena` and its neighbours are mapped arenas of this list.
        unsafe {
            let (prev, next) = ((*arena).prev, (*arena).next);
            if prev.is_null() {
                self.head = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*arena).next = ptr::null_mut();
            (*arena).prev = ptr::null_mut();
        }
    }
}
