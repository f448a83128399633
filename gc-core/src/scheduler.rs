//! The scheduler axis: when to collect, and which generations to examine.
//!
//! The heap keeps one tracked-object list per generation and a count per generation.
//! `count[0]` is CPython's: tracked allocations minus tracked deallocations since the last
//! collection of generation 0. On every tracked allocation the heap bumps it and compares it with
//! [`Scheduler::threshold`] — a counter update and a compare, nothing else. Only when the count
//! exceeds the threshold does it ask the scheduler (slow path) which generation to collect.
//! Collecting generation *g* examines generations `0..=g` together; survivors move to
//! [`Scheduler::survivors_to`]`(g)`.
//!
//! Implementations live in `gc-generational`.

use std::fmt;

/// The most generation lists a schedule may use (the permanent generation of `gc.freeze` is kept
/// apart by the heap).
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

    /// Updates `counts` after a collection of `generation` that left `survivors` objects (the
    /// objects that moved to [`Scheduler::survivors_to`]`(generation)`).
    fn collected(&mut self, generation: usize, survivors: usize, counts: &mut [usize]);

    /// The thresholds, one per generation, as `gc.get_threshold()` shows them.
    fn thresholds(&self) -> Vec<usize>;

    /// Replaces the first `thresholds.len()` thresholds, as `gc.set_threshold(t0[, t1[, t2]])`.
    fn set_thresholds(&mut self, thresholds: &[usize]) -> Result<(), ThresholdError>;
}

/// Why [`Scheduler::set_thresholds`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThresholdError {
    /// How many thresholds were given.
    pub given: usize,
    /// How many the schedule has.
    pub expected: usize,
}

impl fmt::Display for ThresholdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.expected == 0 {
            f.write_str("this schedule has no thresholds: it collects only when asked")
        } else {
            write!(
                f,
                "{} thresholds given, but this schedule takes 1 to {}",
                self.given, self.expected
            )
        }
    }
}

impl std::error::Error for ThresholdError {}

/// Sets the first `new.len()` entries of `current`, or refuses if `new` is empty or too long.
pub fn replace_thresholds(current: &mut [usize], new: &[usize]) -> Result<(), ThresholdError> {
    if new.is_empty() || new.len() > current.len() {
        return Err(ThresholdError {
            given: new.len(),
            expected: current.len(),
        });
    }
    current[..new.len()].copy_from_slice(new);
    Ok(())
}
