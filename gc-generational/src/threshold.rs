//! [`Threshold`]: collect the young objects after every N net tracked allocations.

use gc_core::scheduler::{replace_thresholds, Scheduler, ThresholdError};

/// A young generation and an old one. After `threshold` net tracked allocations the young
/// generation is examined and its survivors become old; the old generation is examined only by a
/// full collection (`gc::collect()`). With one young threshold and no automatic old collections it
/// is the simplest schedule that keeps allocation-heavy programs linear: a collection costs in
/// proportion to the objects allocated since the last one, not to the whole heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    threshold: usize,
}

impl Threshold {
    /// Collect the young generation after `threshold` net tracked allocations; 0 = manual only.
    pub const fn new(threshold: usize) -> Self {
        Threshold { threshold }
    }
}

impl Default for Threshold {
    /// CPython's first threshold, 700.
    fn default() -> Self {
        Threshold::new(700)
    }
}

impl Scheduler for Threshold {
    fn name(&self) -> String {
        format!("threshold:{}", self.threshold)
    }

    fn generations(&self) -> usize {
        2
    }

    fn threshold(&self) -> usize {
        self.threshold
    }

    fn choose(&mut self, _counts: &[usize]) -> Option<usize> {
        Some(0)
    }

    fn survivors_to(&self, _generation: usize) -> usize {
        1
    }

    fn collected(&mut self, _generation: usize, _survivors: usize, counts: &mut [usize]) {
        counts[0] = 0;
    }

    fn thresholds(&self) -> Vec<usize> {
        vec![self.threshold]
    }

    fn set_thresholds(&mut self, thresholds: &[usize]) -> Result<(), ThresholdError> {
        let mut current = [self.threshold];
        replace_thresholds(&mut current, thresholds)?;
        self.threshold = current[0];
        Ok(())
    }
}
