//! Loom models of the lock under `GcLock` (`gc_refcount::sync::raw_lock::RawLock`): the real
//! lock, instantiated with gc-core's `Loom` platform, guarding a loom `UnsafeCell` — which fails
//! an execution where two threads touch the value without one happening-before the other.
//!
//! The models:
//!
//! 1. *Mutual exclusion.* Two threads increment a value under the lock (one of them first tries
//!    once with `try_lock`); at the end the value counts every increment made. They contend, so
//!    the `CONTENDED` path (announce, park, take as `CONTENDED`, unlock-and-wake) runs.
//! 2. *The collector's read.* What `GcLock`'s trace does on the thread that holds a stopped
//!    world: it reads the lock word ([`RawLock::is_unlocked`]) and, if free, reads the value
//!    without taking the lock. One thread, holding the lock from before the stop, writes and
//!    releases it while the "collection" runs; another takes the lock during the collection but, like a real `lock`
//!    that acquires inside a blocking section, touches the value only after the restart.
//!
//! On loom, parking is a yield ([`Parking`]'s defaults): a lost wake-up cannot be modelled here.
//! `Std`'s parking relies on the slot mutex instead (`raw_lock.rs` explains why no wake-up is
//! lost).
//!
//! Deliberately broken variants, at the end, must be caught: a lock word whose
//! compare-and-swap is a load and a store (two threads enter), and one whose loads ignore
//! `Acquire` (the collector reads the value before the last holder's write is visible to it).

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use gc_core::sync::Loom;
use gc_refcount::sync::raw_lock::{Parking, RawLock};
use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom_tests::{
    explore, loom_platform_with_word, FlawedWord, RELAXED_LOADS, SPLIT_COMPARE_EXCHANGE,
};

/// Preemption bound: each model explores everything within it in about a second.
const BOUND: usize = 3;

/// A value guarded by a [`RawLock`], as `GcLock` guards its value.
struct Guarded<P: Parking> {
    lock: RawLock<P>,
    value: UnsafeCell<usize>,
}

// SAFETY: the value is read and written only under the lock, or — in model 2 — by the
// "collector" after `is_unlocked`, while no thread may write it; loom checks both.
unsafe impl<P: Parking> Sync for Guarded<P> {}

impl<P: Parking> Guarded<P> {
    fn new() -> Self {
        Guarded {
            lock: RawLock::new(),
            value: UnsafeCell::new(0),
        }
    }

    /// Adds one under the lock.
    fn increment(&self) {
        self.lock.lock();
        // SAFETY: held; loom fails the execution if another thread accesses it now.
        self.value.with_mut(|value| unsafe { *value += 1 });
        self.lock.unlock();
    }

    fn read(&self) -> usize {
        // SAFETY: loom checks that no write is concurrent with this read.
        self.value.with(|value| unsafe { *value })
    }
}

fn mutual_exclusion<P: Parking>() {
    let guarded = Arc::new(Guarded::<P>::new());
    // Two threads, so that a waiter's yield always lets the holder run (with three, loom
    // explores two waiters yielding to each other forever while the holder never runs: an
    // unfair schedule, see `sync_world.rs`).
    let other = {
        let guarded = Arc::clone(&guarded);
        loom::thread::spawn(move || {
            guarded.increment();
            guarded.increment();
        })
    };
    // The main thread tries once, then takes the lock.
    let tried = guarded.lock.try_lock();
    if tried {
        // SAFETY: held.
        guarded.value.with_mut(|value| unsafe { *value += 1 });
        guarded.lock.unlock();
    }
    guarded.increment();
    other.join().unwrap();
    guarded.lock.lock();
    assert_eq!(
        guarded.read(),
        3 + usize::from(tried),
        "an increment was lost"
    );
    guarded.lock.unlock();
}

fn collector_read<P: Parking>() {
    let guarded = Arc::new(Guarded::<P>::new());
    let restarted = Arc::new(AtomicBool::new(false));
    // A holder that took the lock before the world stopped (here: the main thread, for it) and
    // writes and releases it, possibly while the collection runs (a guard in a blocking section).
    guarded.lock.lock();
    let holder = {
        let guarded = Arc::clone(&guarded);
        loom::thread::spawn(move || {
            // SAFETY: held (taken for this thread above).
            guarded.value.with_mut(|value| unsafe { *value += 1 });
            guarded.lock.unlock();
        })
    };
    // A waiter that may take the lock during the collection but writes only after the restart
    // (leaving its blocking section waits for it).
    let waiter = {
        let guarded = Arc::clone(&guarded);
        let restarted = Arc::clone(&restarted);
        loom::thread::spawn(move || {
            guarded.lock.lock();
            while !restarted.load(Ordering::Acquire) {
                loom::thread::yield_now();
            }
            // SAFETY: held.
            guarded.value.with_mut(|value| unsafe { *value += 10 });
            guarded.lock.unlock();
        })
    };
    // The collector: reads the value only if the lock is free, without taking it.
    if guarded.lock.is_unlocked() {
        let seen = guarded.read();
        assert!(seen <= 1, "the collector saw the waiter's write: {seen}");
    }
    restarted.store(true, Ordering::Release);
    holder.join().unwrap();
    waiter.join().unwrap();
}

#[test]
fn two_threads_take_turns() {
    explore(BOUND, mutual_exclusion::<Loom>);
}

/// `Loom` without the spinning before a wait (`SPIN_LIMIT` 0): every contended `lock` goes
/// straight to the `CONTENDED` protocol. (Under plain `Loom` the spins are yields, after which the
/// holder runs on: reaching the protocol would take more preemptions than the bound.)
struct ParksAtOnce;

impl gc_core::sync::Platform for ParksAtOnce {
    const SPIN_LIMIT: u32 = 0;
    type AtomicUsize = loom::sync::atomic::AtomicUsize;
    type Deque<T: Send + 'static> = gc_core::mark::LoomDeque<T>;

    fn spin_loop() {
        <Loom as gc_core::sync::Platform>::spin_loop();
    }
    fn yield_now() {
        <Loom as gc_core::sync::Platform>::yield_now();
    }
    fn backoff(turn: u32) {
        <Loom as gc_core::sync::Platform>::backoff(turn);
    }
}
impl Parking for ParksAtOnce {}

#[test]
fn two_threads_take_turns_through_the_contended_protocol() {
    explore(BOUND, mutual_exclusion::<ParksAtOnce>);
}

#[test]
fn the_collectors_read_of_a_free_lock_races_no_writer() {
    explore(BOUND, collector_read::<Loom>);
}

// --- broken variants: loom must catch each -------------------------------------------------------

/// Runs `f` under loom and returns the failure's message; panics if loom finds none.
fn expect_caught(f: impl Fn() + Sync + Send + 'static) -> String {
    let failure = panic::catch_unwind(AssertUnwindSafe(|| explore(BOUND, f)))
        .expect_err("loom found no failing execution");
    failure
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| failure.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A lock word whose compare-and-swap is a load followed by a store: two threads can both see
/// `UNLOCKED` and both take the lock.
type SplitCas = FlawedWord<SPLIT_COMPARE_EXCHANGE>;

/// A lock word whose loads are all `Relaxed`: the collector's `is_unlocked` does not synchronize
/// with the last unlock.
type RelaxedLoads = FlawedWord<RELAXED_LOADS>;

loom_platform_with_word!(
    /// `Loom` with a [`SplitCas`] lock word.
    SplitCasPlatform,
    SplitCas
);
impl Parking for SplitCasPlatform {}

loom_platform_with_word!(
    /// `Loom` with a [`RelaxedLoads`] lock word.
    RelaxedLoadsPlatform,
    RelaxedLoads
);
impl Parking for RelaxedLoadsPlatform {}

#[test]
fn a_split_compare_and_swap_is_caught() {
    let message = expect_caught(mutual_exclusion::<SplitCasPlatform>);
    assert!(
        message.contains("Causality violation") || message.contains("an increment was lost"),
        "unexpected failure: {message}"
    );
}

#[test]
fn a_relaxed_read_of_the_lock_word_is_caught() {
    let message = expect_caught(collector_read::<RelaxedLoadsPlatform>);
    assert!(
        message.contains("Causality violation"),
        "unexpected failure: {message}"
    );
}
