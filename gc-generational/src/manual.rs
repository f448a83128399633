//! [`Manual`]: collect only when asked.

use gc_core::scheduler::{Scheduler, ThresholdError};

/// One generation, never collected automatically: only `gc::collect()` examines it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Manual;

impl Scheduler for Manual {
    fn name(&self) -> String {
        "manual".to_owned()
    }

    fn generations(&self) -> usize {
        1
    }

    fn threshold(&self) -> usize {
        0
    }

    fn choose(&mut self, _counts: &[usize]) -> Option<usize> {
        None
    }

    fn survivors_to(&self, _generation: usize) -> usize {
        0
    }

    fn collected(&mut self, _generation: usize, _survivors: usize, counts: &mut [usize]) {
        counts[0] = 0;
    }

    fn thresholds(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Always refused: a manual schedule has no threshold to set.
    fn set_thresholds(&mut self, thresholds: &[usize]) -> Result<(), ThresholdError> {
        Err(ThresholdError {
            given: thresholds.len(),
            expected: 0,
        })
    }
}
