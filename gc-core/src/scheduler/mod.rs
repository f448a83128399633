//! The scheduler axis: when to collect, and which generations to examine.
//!
//! The heap keeps one tracked-object list per generation and a count per generation.
//! `count[0]` is CPython's: tracked allocations minus tracked deallocations since the last
//! collection of generation 0. On every tracked allocation the heap bumps it and compares it with
//! [`Scheduler::threshold`] — a counter update and a compare, nothing else. Only when the count
//! exceeds the threshold does it ask the scheduler (slow path) which generation to collect.
//! Collecting generation *g* examines generations `0..=g` together; survivors move to
//! [`Scheduler::survivors_to`]`(g)`.

mod manual;
mod threshold;

pub use manual::Manual;
pub use threshold::Threshold;

/// The most generation lists a heap keeps (CPython's three plus a permanent one).
pub const MAX_GENERATIONS: usize = 4;

/// Decides when the heap collects and what it examines.
pub trait Scheduler {
    /// A name for reports, with parameters (`"threshold:700"`).
    fn name(&self) -> String;

    /// How many generation lists the schedule uses, from 1 to [`MAX_GENERATIONS`]. The last one is
    /// the oldest; a full collection (`gc::collect()`) examines all of them.
    fn generations(&self) -> usize;

    /// The `count[0]` above which an allocation consults [`Scheduler::choose`]; 0 turns automatic
    /// collection off.
    fn threshold(&self) -> usize;

    /// Called when `counts[0]` exceeds the threshold: the generation to collect now, or `None` to
    /// skip this time.
    fn choose(&mut self, counts: &[usize]) -> Option<usize>;

    /// The generation that survivors of a collection of `generation` move to.
    fn survivors_to(&self, generation: usize) -> usize;

    /// Updates `counts` after a collection of `generation` that left `survivors` objects.
    fn collected(&mut self, generation: usize, survivors: usize, counts: &mut [usize]);
}
