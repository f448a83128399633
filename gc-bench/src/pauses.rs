//! Pause statistics: percentiles of a list of pauses, and a log-scale histogram that keeps the
//! shape of the distribution in a few dozen numbers (so a report can plot and merge the pause
//! distributions of many runs without storing every pause).
//!
//! Percentiles use the nearest-rank definition: p-th percentile = the smallest pause such that at
//! least p% of the pauses are at most it. Histogram bucket `i` holds the pauses in
//! `(2^((i-1)/4), 2^(i/4)]` microseconds — four buckets per doubling, under 19% apart.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::record::{HistogramBucket, PauseSummary};

/// Buckets per doubling of the pause time.
const BUCKETS_PER_DOUBLING: f64 = 4.0;

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `sorted` (ascending); 0 for no values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The median of `values` (any order); 0 for no values. For an even count, the mean of the two
/// middle values.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The histogram bucket of a pause of `us` microseconds.
pub fn bucket_of(us: f64) -> i32 {
    if us <= 0.0 {
        return i32::MIN / 2;
    }
    (us.log2() * BUCKETS_PER_DOUBLING).ceil() as i32
}

/// The upper bound, in microseconds, of bucket `index`.
pub fn bucket_upper_us(index: i32) -> f64 {
    (index as f64 / BUCKETS_PER_DOUBLING).exp2()
}

/// Summarises `pauses` (any order); `source` says where they come from (see
/// [`BackendMetrics::pause_source`](crate::backend::BackendMetrics)).
pub fn summarize(pauses: &[Duration], source: &str) -> PauseSummary {
    let mut us: Vec<f64> = pauses.iter().map(|p| p.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    let mut buckets: BTreeMap<i32, u64> = BTreeMap::new();
    for &value in &us {
        *buckets.entry(bucket_of(value)).or_default() += 1;
    }
    PauseSummary {
        source: source.to_owned(),
        count: us.len() as u64,
        total_ms: us.iter().fold(0.0, |sum, x| sum + x) / 1e3,
        p50_us: percentile(&us, 50.0),
        p90_us: percentile(&us, 90.0),
        p99_us: percentile(&us, 99.0),
        max_us: us.last().copied().unwrap_or(0.0),
        histogram: buckets
            .into_iter()
            .map(|(index, count)| HistogramBucket {
                index,
                upper_us: bucket_upper_us(index),
                count,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), 50.0);
        assert_eq!(percentile(&values, 99.0), 99.0);
        assert_eq!(percentile(&values, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 1.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn summary_counts_every_pause_once() {
        let pauses: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        let summary = summarize(&pauses, "collector");
        assert_eq!(summary.count, 10);
        assert_eq!(summary.histogram.iter().map(|b| b.count).sum::<u64>(), 10);
        assert_eq!(summary.max_us, 10_000.0);
        assert!((summary.total_ms - 55.0).abs() < 1e-9);
        for bucket in &summary.histogram {
            assert!(bucket.upper_us >= 1000.0 && bucket.upper_us < 12_000.0);
        }
    }
}
