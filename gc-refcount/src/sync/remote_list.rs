//! [`RemoteList`]: where the threads that do not hold a page set put the blocks of that set they
//! free (see the `pages` module), for the holder to take all at once.
//!
//! Many threads push, one takes everything: a push is a compare-and-swap of the head (the block's
//! first word, written before, links to the old head), a take is one swap of the head with null.
//! Nothing is ever popped one at a time, so the list has no ABA problem: a head seen by a pusher
//! can only have been taken whole, and the pusher's compare-and-swap then fails.
//!
//! The push releases and the take acquires: everything the freeing thread did to the block (the
//! value's drop, the link) happens-before the holder reuses it. The list is generic over the
//! atomic pointer ([`AtomicSlot`]) so that `loom-tests` model-checks this code
//! (`sync_remote_list.rs`), with a planted flaw it must catch.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::runtime::AtomicSlot;

/// A list of freed blocks, linked through their first word. See the module docs.
pub struct RemoteList<S: AtomicSlot<u8>> {
    head: S,
    _blocks: PhantomData<*mut u8>,
}

// SAFETY: the head is an atomic pointer; the blocks behind it are handed from the pushing threads
// to the taking one by the release/acquire pair described in the module docs.
unsafe impl<S: AtomicSlot<u8>> Sync for RemoteList<S> {}
// SAFETY: as above.
unsafe impl<S: AtomicSlot<u8>> Send for RemoteList<S> {}

impl<S: AtomicSlot<u8>> Default for RemoteList<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: AtomicSlot<u8>> RemoteList<S> {
    /// An empty list.
    pub fn new() -> Self {
        RemoteList {
            head: S::new(ptr::null_mut()),
            _blocks: PhantomData,
        }
    }

    /// Pushes `block`.
    ///
    /// # Safety
    ///
    /// `block` is valid for writes of a pointer at its start, aligned for one, and the caller
    /// gives it up: nothing else reads or writes it until a [`take_all`](RemoteList::take_all)
    /// returns it.
    pub unsafe fn push(&self, block: NonNull<u8>) {
        let mut head = self.head.load(Relaxed);
        loop {
            // SAFETY: the caller's promise: the block is this call's to write.
            unsafe { block.cast::<*mut u8>().write(head) };
            match self
                .head
                .compare_exchange(head, block.as_ptr(), Release, Relaxed)
            {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// Whether the list looks empty: a hint, without ordering (a push may be on its way).
    pub fn looks_empty(&self) -> bool {
        self.head.load(Relaxed).is_null()
    }

    /// Takes every block pushed so far: the first of them, each linking to the next
    /// ([`next`](RemoteList::next)).
    pub fn take_all(&self) -> Option<NonNull<u8>> {
        NonNull::new(self.head.swap(ptr::null_mut(), Acquire))
    }

    /// The block after `block` in what a [`take_all`](RemoteList::take_all) returned.
    ///
    /// # Safety
    ///
    /// `block` came from that take (as its first block or through `next`), and its first word
    /// has not been written since.
    pub unsafe fn next(block: NonNull<u8>) -> Option<NonNull<u8>> {
        // SAFETY: the caller's promise: the pusher's link, which the take's acquire made visible.
        NonNull::new(unsafe { block.cast::<*mut u8>().read() })
    }
}
