//! [`CpythonGenerations`]: CPython's classic generational schedule (`Modules/gcmodule.c`, 3.8–3.13).
//!
//! - Three generations. New tracked objects enter generation 0. `count[0]` is tracked
//!   allocations minus tracked deallocations since the last collection of generation 0;
//!   `count[g]` for `g > 0` is the number of collections of generation `g − 1` since the last
//!   collection of generation `g`.
//! - When an allocation pushes `count[0]` over `threshold[0]`, the oldest generation whose count
//!   exceeds its threshold is collected, with every younger one. Collecting *g* moves survivors
//!   to *g + 1* (the oldest keeps its own), adds 1 to `count[g + 1]` and zeroes `count[0..=g]`.
//! - The long-lived rule (CPython 3.3+, "the 25% rule"): a full collection is skipped while
//!   `long_lived_pending < long_lived_total / 4`, where `long_lived_pending` counts the survivors of
//!   generation-1 collections since the last full collection, and `long_lived_total` the survivors
//!   of that full collection. Without it, a program that keeps building a large heap would pay a
//!   quadratic cost in full collections.
//! - `threshold[0] == 0` turns automatic collection off.

use gc_core::scheduler::{replace_thresholds, Scheduler, ThresholdError};

const GENERATIONS: usize = 3;

/// CPython's three-generation schedule with the long-lived 25% rule (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpythonGenerations {
    thresholds: [usize; GENERATIONS],
    long_lived_total: usize,
    long_lived_pending: usize,
}

impl CpythonGenerations {
    /// A schedule with the given thresholds.
    pub const fn new(thresholds: [usize; GENERATIONS]) -> Self {
        CpythonGenerations {
            thresholds,
            long_lived_total: 0,
            long_lived_pending: 0,
        }
    }

    /// CPython 3.8–3.12: `(700, 10, 10)`, the numbers the Python docs teach.
    pub const fn cpython312() -> Self {
        Self::new([700, 10, 10])
    }

    /// CPython 3.13: `(2000, 10, 10)`.
    pub const fn cpython313() -> Self {
        Self::new([2000, 10, 10])
    }

    /// Survivors of full collections, as of the last one.
    pub fn long_lived_total(&self) -> usize {
        self.long_lived_total
    }

    /// Survivors of generation-1 collections since the last full collection.
    pub fn long_lived_pending(&self) -> usize {
        self.long_lived_pending
    }
}

impl Default for CpythonGenerations {
    /// [`CpythonGenerations::cpython312`].
    fn default() -> Self {
        Self::cpython312()
    }
}

impl Scheduler for CpythonGenerations {
    fn name(&self) -> String {
        match self.thresholds {
            [700, 10, 10] => "cpython312".to_owned(),
            [2000, 10, 10] => "cpython313".to_owned(),
            [a, b, c] => format!("cpython:{a},{b},{c}"),
        }
    }

    fn generations(&self) -> usize {
        GENERATIONS
    }

    fn threshold(&self) -> usize {
        self.thresholds[0]
    }

    fn choose(&mut self, counts: &[usize]) -> Option<usize> {
        // CPython's gc_collect_generations: the oldest generation over its threshold.
        (0..GENERATIONS).rev().find(|&g| {
            counts[g] > self.thresholds[g]
                && !(g == GENERATIONS - 1 && self.long_lived_pending < self.long_lived_total / 4)
        })
    }

    fn survivors_to(&self, generation: usize) -> usize {
        (generation + 1).min(GENERATIONS - 1)
    }

    fn collected(&mut self, generation: usize, survivors: usize, counts: &mut [usize]) {
        if generation + 1 < GENERATIONS {
            counts[generation + 1] += 1;
        }
        for count in &mut counts[..=generation] {
            *count = 0;
        }
        if generation == GENERATIONS - 2 {
            self.long_lived_pending += survivors;
        } else if generation == GENERATIONS - 1 {
            self.long_lived_pending = 0;
            self.long_lived_total = survivors;
        }
    }

    fn thresholds(&self) -> Vec<usize> {
        self.thresholds.to_vec()
    }

    fn set_thresholds(&mut self, thresholds: &[usize]) -> Result<(), ThresholdError> {
        replace_thresholds(&mut self.thresholds, thresholds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_generation_over_threshold_wins() {
        let mut s = CpythonGenerations::cpython312();
        assert_eq!(s.choose(&[701, 0, 0]), Some(0));
        assert_eq!(s.choose(&[701, 11, 0]), Some(1));
        // long_lived_total is 0, so the 25% rule does not hold back the first full collection.
        assert_eq!(s.choose(&[701, 11, 11]), Some(2));
    }

    #[test]
    fn long_lived_rule_defers_full_collections() {
        let mut s = CpythonGenerations::cpython312();
        let mut counts = [0, 0, 11];
        s.collected(2, 1000, &mut counts); // a full collection left 1000 objects
        assert_eq!((s.long_lived_total(), s.long_lived_pending()), (1000, 0));
        assert_eq!(counts, [0, 0, 0]);
        assert_eq!(s.choose(&[701, 11, 11]), Some(1), "pending 0 < 1000 / 4");
        s.collected(1, 250, &mut counts);
        assert_eq!(counts, [0, 0, 1]);
        assert_eq!(s.choose(&[701, 11, 11]), Some(2), "pending 250 >= 1000 / 4");
    }
}
