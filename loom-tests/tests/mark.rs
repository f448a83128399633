//! Loom models of the parallel marking engine (`gc_core::mark`): the engine's own code, with
//! loom's atomics, deques and threads. See the crate docs for the properties checked, and
//! `gc-core/src/mark/TERMINATION.md` for the protocol they check.
//!
//! Every model runs with 2 workers under a preemption bound of 3, and with 3 workers under a
//! bound of 2 (more threads multiply the interleavings; the bound keeps the suite in seconds).

use gc_core::sync::Loom;
use loom_tests::{check_marking, loom_platform_with_word, CheckThenSet, Explored, Shape};

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
