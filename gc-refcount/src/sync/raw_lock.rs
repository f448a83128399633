//! [`RawLock`]: the mutual exclusion under [`GcLock`](super::GcLock) — one atomic word whose
//! state a stopped-world collector may read without writing it.
//!
//! `GcLock` used to wrap `std::sync::Mutex`. Tracing a value then took and released the mutex:
//! two locked read-modify-writes per object, which `perf` put at 58 % of the shared collector's
//! trace call, on the `sync_collect` bench. A collector that holds the stopped world needs no
//! write to know whether it may read a value: nobody can take a `GcLock` and then touch its value
//! before the collection ends (see `GcLock`'s `Trace` impl). std's mutex does not let it read its
//! state; this lock does ([`RawLock::is_unlocked`]). One collection of the `sync_collect` bench's
//! heap (35 052 nodes) took 1.17–1.46 ms with std's mutex and 0.95–1.21 ms with this lock (three
//! alternating runs, together with the merged count-and-trace call of `SharedTypeInfo`).
//!
//! ## The protocol
//!
//! The word is [`UNLOCKED`], [`LOCKED`] (no thread waits) or [`CONTENDED`] (a thread may wait),
//! as in Drepper's "Futexes Are Tricky" (mutex 2):
//!
//! | operation | transition |
//! |---|---|
//! | [`try_lock`](RawLock::try_lock), the fast path of [`lock`](RawLock::lock) | `UNLOCKED → LOCKED` (`Acquire`) |
//! | a waiter, after a few spins | swaps in `CONTENDED` (`Acquire`): if it swapped out `UNLOCKED` it holds the lock (others may still wait); otherwise it parks while the word is `CONTENDED`, then swaps again |
//! | [`unlock`](RawLock::unlock) | swaps in `UNLOCKED` (`Release`); if it swapped out `CONTENDED`, wakes the waiters |
//!
//! A waiter may acquire with `CONTENDED` when nobody else waits: the next unlock then wakes
//! nobody, at the cost of a lookup. Waking is [`Parking`]'s: on [`Std`], a table of condition
//! variables shared by all locks (hashed by address), so a `GcLock` costs one word.
//!
//! The lock is generic over a [`Parking`] platform so that `loom-tests` model-checks this code
//! itself (`sync_lock.rs`), with a planted flaw it must catch.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Condvar, Mutex, PoisonError};

use gc_core::sync::{AtomicWord, Platform, Std};

/// Nobody holds the lock.
pub const UNLOCKED: usize = 0;
/// A thread holds the lock and no thread waits for it.
pub const LOCKED: usize = 1;
/// A thread holds the lock and others may be waiting: the unlock must wake them.
pub const CONTENDED: usize = 2;

/// How a platform lets a thread sleep until an atomic word changes (a futex, in effect).
///
/// The defaults do not sleep: [`park_while`](Parking::park_while) yields once and returns, which
/// callers must treat as a spurious wake-up, and [`unpark_all`](Parking::unpark_all) does
/// nothing. That is what the loom platforms use: for loom, a yield says "waiting for another
/// thread". [`Std`] sleeps on a condition variable.
pub trait Parking: Platform {
    /// Sleeps while `word` holds `value`; may return early (spuriously). A call that sees
    /// another value returns at once.
    fn park_while(word: &Self::AtomicUsize, value: usize) {
        let _ = (word, value);
        Self::yield_now();
    }

    /// Wakes every thread sleeping in [`park_while`](Parking::park_while) on `word`. Called after
    /// the word changed.
    fn unpark_all(word: &Self::AtomicUsize) {
        let _ = word;
    }
}

/// One slot of [`Std`]'s parking table.
struct ParkingSlot {
    /// Held while a sleeper checks the word and while a waker wakes: no wake-up is lost between
    /// a sleeper's check and its sleep.
    mutex: Mutex<()>,
    sleepers: Condvar,
}

/// How many slots [`Std`]'s parking table has; locks that hash to one slot wake each other's
/// sleepers (which check their word again and sleep again).
const PARKING_SLOTS: usize = 64;

/// [`Std`]'s parking table, shared by every lock.
static PARKING: [ParkingSlot; PARKING_SLOTS] = [const {
    ParkingSlot {
        mutex: Mutex::new(()),
        sleepers: Condvar::new(),
    }
}; PARKING_SLOTS];

/// The slot of the word at `addr`.
fn parking_slot(addr: usize) -> &'static ParkingSlot {
    // Fibonacci hashing of the address; a word is 8-aligned, so the low bits carry nothing.
    let hash = (addr >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &PARKING[hash >> (usize::BITS - PARKING_SLOTS.trailing_zeros())]
}

impl Parking for Std {
    fn park_while(word: &std::sync::atomic::AtomicUsize, value: usize) {
        let slot = parking_slot(std::ptr::from_ref(word).addr());
        let guard = slot.mutex.lock().unwrap_or_else(PoisonError::into_inner);
        // The waker changes the word before it takes the slot's mutex: either this load sees the
        // change, or the waker's notification comes after this thread sleeps.
        if word.load(Relaxed) == value {
            drop(
                slot.sleepers
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner),
            );
        }
    }

    fn unpark_all(word: &std::sync::atomic::AtomicUsize) {
        let slot = parking_slot(std::ptr::from_ref(word).addr());
        let _guard = slot.mutex.lock().unwrap_or_else(PoisonError::into_inner);
        slot.sleepers.notify_all();
    }
}

#[cfg(feature = "loom")]
impl Parking for gc_core::sync::Loom {}

/// A mutual-exclusion lock in one atomic word (see the module docs for the protocol). It
/// protects nothing itself: [`GcLock`](super::GcLock) pairs it with the value.
pub struct RawLock<P: Parking> {
    state: P::AtomicUsize,
}

/// How many turns of [`Platform::backoff`] a contended [`RawLock::lock`] spins before it parks.
const SPIN_TURNS: u32 = 6;

impl RawLock<Std> {
    /// A new, unlocked lock (`const`, on [`Std`]: a `GcLock` may be a `static`).
    pub const fn new_std() -> Self {
        RawLock {
            state: std::sync::atomic::AtomicUsize::new(UNLOCKED),
        }
    }
}

impl<P: Parking> RawLock<P> {
    /// A new, unlocked lock.
    pub fn new() -> Self {
        RawLock {
            state: P::AtomicUsize::new(UNLOCKED),
        }
    }

    /// Takes the lock if it is free; `true` if this thread now holds it.
    #[inline]
    pub fn try_lock(&self) -> bool {
        loop {
            match self
                .state
                .compare_exchange_weak(UNLOCKED, LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(UNLOCKED) => continue, // a spurious failure
                Err(_) => return false,
            }
        }
    }

    /// Takes the lock, spinning a little and then sleeping while another thread holds it.
    #[inline]
    pub fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        // Spin first: most critical sections are a few stores.
        for turn in 0..SPIN_TURNS.min(P::SPIN_LIMIT) {
            if self.state.load(Relaxed) == UNLOCKED && self.try_lock() {
                return;
            }
            P::backoff(turn);
        }
        // Take it as `CONTENDED` (other threads may be parked, and only an unlock from
        // `CONTENDED` wakes them), or announce the wait and park. A swap reads the latest value,
        // so no turn acts on an old one.
        while self.state.swap(CONTENDED, Acquire) != UNLOCKED {
            P::park_while(&self.state, CONTENDED);
        }
    }

    /// Releases the lock, waking the threads that wait for it.
    ///
    /// Meant for the thread that holds the lock: this type cannot check that, and a release by
    /// another thread ends the holder's exclusion. That is no memory-safety question for this
    /// type, which guards nothing; `GcLock` keeps its `RawLock` private and releases it from its
    /// guard's `Drop` alone.
    #[inline]
    pub fn unlock(&self) {
        if self.state.swap(UNLOCKED, Release) == CONTENDED {
            P::unpark_all(&self.state);
        }
    }

    /// Whether the lock is free, read without writing anything (`Acquire`: the last holder's
    /// writes happen-before what the caller reads next). Only useful where no thread can take
    /// the lock and then write the protected value before the caller is done with it — a
    /// stopped world, for `GcLock`.
    #[inline]
    pub fn is_unlocked(&self) -> bool {
        self.state.load(Acquire) == UNLOCKED
    }
}

impl<P: Parking> Default for RawLock<P> {
    fn default() -> Self {
        RawLock::new()
    }
}
