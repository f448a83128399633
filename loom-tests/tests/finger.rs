//! Loom models of the finger marking split over workers (`gc_core::mark::FingerMarker`): the
//! marker's own code, with loom's atomics and threads. Each node is its own chunk, so the workers'
//! walks interleave node by node; the property (every reachable node marked and scanned exactly
//! once, no other node marked) covers the race the finger's rule settles: a walk passing a node
//! while another worker's edge marks it.
//!
//! 2 workers under a preemption bound of 3, 3 workers under 2, as for the engine's models.

use gc_core::sync::Loom;
use loom_tests::{check_finger_marking, loom_platform_with_word, CheckThenSet, Shape};

/// Preemption bound for 2 workers.
const BOUND_2: usize = 3;
/// Preemption bound for 3 workers.
const BOUND_3: usize = 2;

fn model(shape: Shape) {
    let executions = [
        check_finger_marking::<Loom>(&shape, 2, BOUND_2),
        check_finger_marking::<Loom>(&shape, 3, BOUND_3),
    ];
    // Shown with `--nocapture`.
    println!("{shape:?}: executions with 2 and 3 workers {executions:?}");
}

#[test]
fn chain() {
    model(Shape::chain(3));
}

#[test]
fn backward_chain() {
    model(Shape::backward_chain());
}

#[test]
fn diamond_shared_child() {
    model(Shape::diamond());
}

#[test]
fn cycle() {
    model(Shape::cycle());
}

// --- the broken variant -----------------------------------------------------------------------

loom_platform_with_word!(
    /// Loom's platform with a check-then-set mark word: the walk's "pass" and an edge's "mark"
    /// can then overwrite each other, and neither side sees the other's bit.
    BrokenMark,
    CheckThenSet
);

/// In the backward chain, the walk passes node 1 while the other worker's edge from node 2 marks
/// it; with a check-then-set word both can miss the other's bit, and nobody traces node 1 (or
/// both do). Loom must find that interleaving.
#[test]
#[should_panic(expected = "reachable node")]
fn a_check_then_set_pass_and_mark_is_caught() {
    check_finger_marking::<BrokenMark>(&Shape::backward_chain(), 2, BOUND_2);
}
