//! Loom models of the parallel marking engine (`gc_core::mark`): the engine's own code, with
//! loom's atomics, deques and threads. See the crate docs for the properties checked, and
//! `gc-core/src/mark/TERMINATION.md` for the protocol they check.
//!
//! Every model runs with 2 workers under a preemption bound of 3, and with 3 workers under a
//! bound of 2 (more threads multiply the interleavings; the bound keeps the suite in seconds).

use std::sync::atomic::Ordering;

use gc_core::sync::{AtomicWord, Loom};
use loom_tests::{check_marking, loom_platform_with_word, Explored, Shape};

/// Preemption bound for 2 workers.
const BOUND_2: usize = 3;
/// Preemption bound for 3 workers.
const BOUND_3: usize = 2;

fn model(shape: Shape) -> [Explored; 2] {
    let explored = [
        check_marking::<Loom>(&shape, 2, BOUND_2),
        check_marking::<Loom>(&shape, 3, BOUND_3),
    ];
    // Shown with `--nocapture`.
    println!(
        "{shape:?}: 2 workers {:?}, 3 workers {:?}",
        explored[0], explored[1]
    );
    explored
}

#[test]
fn chain() {
    model(Shape::chain(3));
}

#[test]
fn diamond_shared_child() {
    model(Shape::diamond());
}

#[test]
fn cycle() {
    model(Shape::cycle());
}

#[test]
fn root_given_twice() {
    model(Shape::root_given_twice());
}

#[test]
fn stealing() {
    for explored in model(Shape::fan(3)) {
        assert!(
            explored.with_steals > 0,
            "no execution stole: the model does not exercise stealing ({explored:?})"
        );
    }
}

// --- the broken variant -----------------------------------------------------------------------

/// A mark word whose `fetch_or` is a load followed by a store: the non-atomic check-then-set
/// that the engine's test-and-set must not be. Every other operation is loom's own.
struct CheckThenSet(loom::sync::atomic::AtomicUsize);

impl AtomicWord for CheckThenSet {
    fn new(value: usize) -> Self {
        CheckThenSet(loom::sync::atomic::AtomicUsize::new(value))
    }
    fn load(&self, order: Ordering) -> usize {
        self.0.load(order)
    }
    fn store(&self, value: usize, order: Ordering) {
        self.0.store(value, order)
    }
    /// Broken on purpose: another thread may run between the load and the store.
    fn fetch_or(&self, value: usize, order: Ordering) -> usize {
        let old = self.0.load(Ordering::Relaxed);
        self.0.store(old | value, order);
        old
    }
    fn fetch_add(&self, value: usize, order: Ordering) -> usize {
        self.0.fetch_add(value, order)
    }
    fn fetch_sub(&self, value: usize, order: Ordering) -> usize {
        self.0.fetch_sub(value, order)
    }
    fn compare_exchange_weak(
        &self,
        current: usize,
        new: usize,
        success: Ordering,
        failure: Ordering,
    ) -> Result<usize, usize> {
        self.0.compare_exchange_weak(current, new, success, failure)
    }
}

loom_platform_with_word!(
    /// Loom's platform with the broken mark word. The engine uses `fetch_or` only to set marks
    /// (and to poison a phase after a panic, which the models never do), so this breaks exactly
    /// the mark.
    BrokenMark,
    CheckThenSet
);

/// Two workers reach the diamond's shared child at once; with a check-then-set mark both can win
/// it, and loom must find that interleaving.
#[test]
#[should_panic(expected = "scanned")]
fn a_check_then_set_mark_is_caught() {
    check_marking::<BrokenMark>(&Shape::diamond(), 2, BOUND_2);
}
