//! The part of a shared object's header that the collector uses ([`TrackedLinks`]): its number in
//! a collection, and the collector's state word.
//!
//! The collector finds the objects by walking the pages they live in (the `pages` module), as
//! free-threaded CPython walks mimalloc's heaps. Until then every tracked object was in a list:
//! one array per thread behind a mutex, each object knowing its place. Keeping the lists cost
//! every allocation and every free a lock, a push or a move and a remote batch: on
//! `shared-churn` without cycles (`cycle_fraction=0`, so that the collector had nothing to do),
//! the runs took 0.78× the time with the lists taken out (14 alternating rounds, faster in all).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The part of a shared object's header that the collector uses: the object's number in the
/// collection that examines it, and the collector's state word.
///
/// The first word (`number`) is also where a free block links to the next one (see the `pages`
/// module): it means nothing outside a collection.
pub struct TrackedLinks {
    /// The object's index among the members of the collection examining it, written by that
    /// collection with the world stopped, and read by it only. Stale otherwise.
    number: UnsafeCell<usize>,
    /// The collector's word: [`state::DEAD`] once the object's value is (being) torn down by a
    /// collection, [`state::OLD`] once a collection of the generational schedule examined it.
    /// An atomic because blocking threads may read `DEAD` (on dereference) while the collector
    /// writes it.
    state: AtomicUsize,
}

// SAFETY: `number` is written and read only by a collection, with the world stopped (no other
// thread touches it then) or by that collection's thread after the restart; `state` is atomic.
unsafe impl Sync for TrackedLinks {}
// SAFETY: as for `Sync`.
unsafe impl Send for TrackedLinks {}

/// Flags of the collector's state word.
pub(crate) mod state {
    /// Found garbage: the value is being, or has been, dropped by the collector.
    pub(crate) const DEAD: usize = 2;
    /// Examined by a collection of the generational schedule: in the old generation.
    pub(crate) const OLD: usize = 4;
}

impl TrackedLinks {
    /// Links of a new object: young, not dead.
    pub(crate) const fn new() -> Self {
        TrackedLinks {
            number: UnsafeCell::new(0),
            state: AtomicUsize::new(0),
        }
    }

    /// The collector's state word.
    #[inline(always)]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Relaxed)
    }

    /// Sets the collector's state word (the collector only, or the allocating thread).
    #[inline(always)]
    pub(crate) fn set_state(&self, value: usize) {
        self.state.store(value, Relaxed);
    }

    /// Whether a collection found the object garbage (its value is dropped or being dropped).
    #[inline(always)]
    pub(crate) fn is_dead(&self) -> bool {
        self.state() & state::DEAD != 0
    }

    /// The object's number in the collection examining it (stale if it is not a member).
    ///
    /// # Safety
    ///
    /// The current thread runs a collection, which no other thread can (it holds the stopped
    /// world or the collector role).
    #[inline(always)]
    pub(crate) unsafe fn number(&self) -> usize {
        // SAFETY: the caller's promise: only this collection touches the number now.
        unsafe { *self.number.get() }
    }

    /// Numbers the object for the collection examining it.
    ///
    /// # Safety
    ///
    /// The current thread holds the stopped world.
    #[inline(always)]
    pub(crate) unsafe fn set_number(&self, number: usize) {
        // SAFETY: the caller's promise: no other thread runs heap code.
        unsafe { *self.number.get() = number };
    }
}
