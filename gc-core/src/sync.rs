//! The sync facade: everything a concurrent algorithm of gclab shares between threads — atomics,
//! work-stealing deques, spin and yield hints — comes from here, so that one piece of code runs
//! on std in production and on [loom](https://docs.rs/loom) under the model checker.
//!
//! ## The model
//!
//! A concurrent algorithm is written once, generic over a [`Platform`]: a type that names the
//! atomic word, the work-stealing deque and the busy-wait hints to use. Two platforms exist:
//!
//! - [`Std`] — `std`'s atomics, crossbeam-deque's Chase–Lev deques, `std`'s spin and yield
//!   hints. This is what gclab runs.
//! - `Loom` (cargo feature `loom`) — loom's atomics, a deque built on loom's mutex, loom's
//!   yield. This is what `loom-tests` checks: loom explores every interleaving (up to a
//!   preemption bound) of the very code that production runs, with loom's types plugged in.
//!
//! The parallel marking engine ([`crate::mark`]) is the first user; thread-shared handles will be
//! the next.
//!
//! ## Why a type parameter and not `cfg(loom)`
//!
//! The usual loom setup swaps the types under `RUSTFLAGS="--cfg loom"`, which means a second
//! build of the whole dependency graph and a test command a user must remember. Here the swap is
//! a type parameter: `cargo test --workspace` builds gc-core once, and the models in `loom-tests`
//! instantiate the engine with `Loom` in an ordinary test binary. The cost is a generic parameter
//! on the concurrent code; the production instance is monomorphised and pays nothing for it.
//!
//! ## What does not go through the facade
//!
//! - Spawning and joining the workers: the [`Spawn`](crate::mark::Spawn) trait does that (rayon in
//!   production, loom threads in the models), because a spawner is a value (a thread pool), not a
//!   type.
//! - The `std::sync::Arc` that carries a marking's shared block to its workers. Its count only
//!   decides when that block is freed, which happens after every worker has been joined; no
//!   decision of the algorithm depends on it.

use std::sync::atomic::Ordering;

use crate::mark::queue::WorkQueue;

/// A platform: the concurrency primitives a concurrent algorithm is instantiated with.
///
/// ## Memory ordering
///
/// Implementations keep the C++20 memory model promises of the primitives they stand for:
/// [`AtomicWord`] operations behave as `std::sync::atomic::AtomicUsize`'s with the same
/// `Ordering`, and a [`WorkQueue`] push happens-before the pop or steal that returns the item.
pub trait Platform: Send + Sync + Sized + 'static {
    /// How many fruitless turns a busy-wait loop that *may* stop early makes before it stops
    /// (the idle loop of a marking worker, see `mark/TERMINATION.md`). Unbounded (`u32::MAX`)
    /// by default. Loom bounds it: two threads that both spin can otherwise be scheduled against
    /// each other forever while the thread they wait for never runs, and loom would explore
    /// such executions without end. Stopping early is one of the behaviours the production code
    /// may show anyway (a waiting thread that the operating system never schedules again), so
    /// the bound removes no interleaving that matters for safety.
    const SPIN_LIMIT: u32 = u32::MAX;

    /// A word-sized atomic integer.
    type AtomicUsize: AtomicWord;
    /// A work-stealing deque of `T`.
    type Deque<T: Send + 'static>: WorkQueue<T>;

    /// Called on every turn of a busy-wait loop (`std::hint::spin_loop`). Under loom it yields,
    /// which tells the checker that the thread waits for another one.
    fn spin_loop();

    /// Gives up the rest of the time slice (`std::thread::yield_now`).
    fn yield_now();

    /// One turn of a busy-wait loop with exponential back-off; `turn` counts the turns since the
    /// wait began or last made progress. By default: spin `2^turn` times for the first few turns,
    /// then yield.
    #[inline]
    fn backoff(turn: u32) {
        const SPIN_TURNS: u32 = 6;
        if turn <= SPIN_TURNS {
            for _ in 0..1u32 << turn {
                Self::spin_loop();
            }
        } else {
            Self::yield_now();
        }
    }
}

/// The operations of an atomic word that gclab's concurrent code uses, with the meaning of
/// `std::sync::atomic::AtomicUsize`'s methods of the same names.
pub trait AtomicWord: Send + Sync + 'static {
    /// A new atomic holding `value`.
    fn new(value: usize) -> Self;
    /// Loads the value.
    fn load(&self, order: Ordering) -> usize;
    /// Stores `value`.
    fn store(&self, value: usize, order: Ordering);
    /// Bitwise or, atomically; returns the previous value.
    fn fetch_or(&self, value: usize, order: Ordering) -> usize;
    /// Adds, atomically (wrapping); returns the previous value.
    fn fetch_add(&self, value: usize, order: Ordering) -> usize;
    /// Subtracts, atomically (wrapping); returns the previous value.
    fn fetch_sub(&self, value: usize, order: Ordering) -> usize;
    /// Stores `value`, atomically; returns the previous value.
    fn swap(&self, value: usize, order: Ordering) -> usize;
    /// Stores `new` if the value is `current`; may fail spuriously. Returns the previous value,
    /// `Ok` if the store happened.
    fn compare_exchange_weak(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize>;
}

/// Implements [`AtomicWord`] for an atomic type with std's method names.
macro_rules! atomic_word {
    ($ty:ty) => {
        impl AtomicWord for $ty {
            #[inline(always)]
            fn new(value: usize) -> Self {
                <$ty>::new(value)
            }
            #[inline(always)]
            fn load(&self, order: Ordering) -> usize {
                <$ty>::load(self, order)
            }
            #[inline(always)]
            fn store(&self, value: usize, order: Ordering) {
                <$ty>::store(self, value, order)
            }
            #[inline(always)]
            fn fetch_or(&self, value: usize, order: Ordering) -> usize {
                <$ty>::fetch_or(self, value, order)
            }
            #[inline(always)]
            fn fetch_add(&self, value: usize, order: Ordering) -> usize {
                <$ty>::fetch_add(self, value, order)
            }
            #[inline(always)]
            fn fetch_sub(&self, value: usize, order: Ordering) -> usize {
                <$ty>::fetch_sub(self, value, order)
            }
            #[inline(always)]
            fn swap(&self, value: usize, order: Ordering) -> usize {
                <$ty>::swap(self, value, order)
            }
            #[inline(always)]
            fn compare_exchange_weak(
                &self,
                current: usize,
                new: usize,
                success: Ordering,
                failure: Ordering,
            ) -> Result<usize, usize> {
                <$ty>::compare_exchange_weak(self, current, new, success, failure)
            }
        }
    };
}

atomic_word!(std::sync::atomic::AtomicUsize);

/// The production platform: `std`'s atomics and crossbeam-deque's work-stealing deques (a mutex
/// deque under Miri).
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;

impl Platform for Std {
    type AtomicUsize = std::sync::atomic::AtomicUsize;
    #[cfg(not(miri))]
    type Deque<T: Send + 'static> = crossbeam_deque::Worker<T>;
    /// Under Miri, a mutex deque: crossbeam-epoch casts integers to pointers, which Miri's
    /// strict-provenance mode (the one CI uses) rejects. The engine's code is the same.
    #[cfg(miri)]
    type Deque<T: Send + 'static> = crate::mark::queue::MutexDeque<T>;

    #[inline(always)]
    fn spin_loop() {
        std::hint::spin_loop();
    }

    #[inline]
    fn yield_now() {
        std::thread::yield_now();
    }
}

#[cfg(feature = "loom")]
pub use self::loom_platform::Loom;

#[cfg(feature = "loom")]
mod loom_platform {
    use super::{AtomicWord, Ordering, Platform};
    use crate::mark::queue::LoomDeque;

    atomic_word!(loom::sync::atomic::AtomicUsize);

    /// The model-checking platform: loom's atomics, a deque on loom's mutex, loom's yield. Its
    /// types work only inside `loom::model`.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Loom;

    impl Platform for Loom {
        const SPIN_LIMIT: u32 = 3;
        type AtomicUsize = loom::sync::atomic::AtomicUsize;
        type Deque<T: Send + 'static> = LoomDeque<T>;

        fn spin_loop() {
            loom::hint::spin_loop();
        }

        fn yield_now() {
            loom::thread::yield_now();
        }

        /// One yield per turn: for loom a spin is a yield, and spinning more only adds steps.
        fn backoff(_turn: u32) {
            loom::thread::yield_now();
        }
    }
}
