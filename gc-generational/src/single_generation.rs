//! [`SingleGeneration`]: the free-threaded CPython schedule (3.13t, `Python/gc_free_threading.c`).

use gc_core::scheduler::{replace_thresholds, Scheduler, ThresholdError};

/// One generation, examined whole. A collection runs when `count > threshold` and
/// `count >= long_lived_total / 4`, where `long_lived_total` is the number of survivors of the
/// last collection: the effective threshold grows with the live heap, which keeps the total cost
/// of collections linear in the allocations. The free-threaded build has no generations because
/// moving objects between lists would need the lists to be shared between threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleGeneration {
    threshold: usize,
    long_lived_total: usize,
}

impl SingleGeneration {
    /// A schedule with the given base threshold (CPython uses 2000).
    pub const fn new(threshold: usize) -> Self {
        SingleGeneration {
            threshold,
            long_lived_total: 0,
        }
    }

    /// Survivors of the last collection.
    pub fn long_lived_total(&self) -> usize {
        self.long_lived_total
    }
}

impl Default for SingleGeneration {
    /// The free-threaded build's threshold, 2000.
    fn default() -> Self {
        Self::new(2000)
    }
}

impl Scheduler for SingleGeneration {
    fn name(&self) -> String {
        format!("single-gen:{}", self.threshold)
    }

    fn generations(&self) -> usize {
        1
    }

    fn threshold(&self) -> usize {
        self.threshold
    }

    fn choose(&mut self, counts: &[usize]) -> Option<usize> {
        (counts[0] > self.threshold && counts[0] >= self.long_lived_total / 4).then_some(0)
    }

    fn survivors_to(&self, _generation: usize) -> usize {
        0
    }

    fn collected(&mut self, _generation: usize, survivors: usize, counts: &mut [usize]) {
        counts[0] = 0;
        self.long_lived_total = survivors;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_scales_with_live_heap() {
        let mut s = SingleGeneration::new(2000);
        assert_eq!(s.choose(&[2001]), Some(0));
        let mut counts = [2001];
        s.collected(0, 100_000, &mut counts);
        assert_eq!(counts, [0]);
        assert_eq!(s.choose(&[2001]), None, "2001 < 100000 / 4");
        assert_eq!(s.choose(&[25_000]), Some(0));
    }
}
