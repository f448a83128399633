//! Spare arenas: entirely empty arenas kept mapped for reuse, most recently emptied first.
//!
//! CPython keeps one empty arena mapped and unmaps every other as soon as it empties. A program
//! that builds and drops a structure of a few megabytes over and over then maps, faults in and
//! unmaps the same arenas on every round: on Linux each fresh page costs a page fault and a
//! zeroing, which can take longer than the allocations themselves. Here up to a limit of empty
//! arenas stay mapped ([`DEFAULT_SPARE_ARENA_LIMIT`](super::DEFAULT_SPARE_ARENA_LIMIT) by
//! default); the heap gives them back when a full collection is explicitly asked for
//! ([`Allocator::release_empty`](crate::Allocator::release_empty)), which is when a program
//! expects its memory to go down.
//!
//! The stack is intrusive: a spare arena is in no usable list, so its usable-list link
//! (`ArenaHeader::next`) threads the stack and pushing or popping costs no allocation.

use std::ptr;

use super::arena::{ArenaHeader, POOLS_PER_ARENA};

/// The spare arenas.
pub(super) struct SpareArenas {
    head: *mut ArenaHeader,
    len: usize,
}

impl SpareArenas {
    /// No spare arena.
    pub(super) const fn new() -> Self {
        SpareArenas {
            head: ptr::null_mut(),
            len: 0,
        }
    }

    /// Spare arenas kept now.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Keeps an arena that just became entirely empty.
    ///
    /// # Safety
    ///
    /// `arena` is mapped, all its pools are empty, and it is in no list but the list of all
    /// arenas.
    pub(super) unsafe fn push(&mut self, arena: *mut ArenaHeader) {
        // SAFETY: the caller guarantees the arena's header is mapped and unlisted.
        unsafe {
            debug_assert_eq!((*arena).nfreepools, POOLS_PER_ARENA);
            (*arena).next = self.head;
            (*arena).prev = ptr::null_mut();
        }
        self.head = arena;
        self.len += 1;
    }

    /// Takes the most recently emptied spare arena (its pages are the likeliest to be resident),
    /// or null.
    pub(super) fn pop(&mut self) -> *mut ArenaHeader {
        let arena = self.head;
        if !arena.is_null() {
            // SAFETY: every arena of the stack is mapped; its `next` links the stack.
            unsafe {
                self.head = (*arena).next;
                (*arena).next = ptr::null_mut();
            }
            self.len -= 1;
        }
        arena
    }

    /// Takes the spare arena emptied the longest ago, or null: the one to unmap first.
    pub(super) fn pop_oldest(&mut self) -> *mut ArenaHeader {
        let mut link: *mut *mut ArenaHeader = &mut self.head;
        // SAFETY: every arena of the stack is mapped; `link` points at the head or at the `next`
        // field of a mapped arena of the stack.
        unsafe {
            if (*link).is_null() {
                return ptr::null_mut();
            }
            while !(**link).next.is_null() {
                link = &mut (**link).next;
            }
            let arena = *link;
            *link = ptr::null_mut();
            self.len -= 1;
            arena
        }
    }

    /// Whether `arena` is one of the spares (walks the stack: for the checks).
    #[cfg(test)]
    pub(super) fn contains(&self, arena: *mut ArenaHeader) -> bool {
        let mut spare = self.head;
        while !spare.is_null() {
            if spare == arena {
                return true;
            }
            // SAFETY: every arena of the stack is mapped.
            spare = unsafe { (*spare).next };
        }
        false
    }
}
