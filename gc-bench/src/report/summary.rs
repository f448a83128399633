//! [`CellSummary`]: the repetitions of one (workload, configuration) pair reduced to medians and
//! spread — one cell of the report's tables.
//!
//! The median is robust to the odd slow run a shared machine produces; the spread is the range
//! (min to max) over the repetitions, shown in tables as ±half the range relative to the median.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::pauses::median;
use crate::record::RunRecord;

/// Median and range of one quantity over the repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all zero for none).
    pub fn of(values: &[f64]) -> Spread {
        if values.is_empty() {
            return Spread::default();
        }
        Spread {
            median: median(values),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// Half the range relative to the median, in percent (0 for a zero median).
    pub fn relative_half_range(&self) -> f64 {
        if self.median > 0.0 {
            (self.max - self.min) / 2.0 / self.median * 100.0
        } else {
            0.0
        }
    }
}

/// Pause statistics of one cell: medians over repetitions of each run's figures.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PauseCell {
    /// Where the pauses come from (see [`PauseSummary::source`](crate::record::PauseSummary)).
    pub source: String,
    /// Pauses per run.
    pub count: f64,
    /// Total pause time per run, in milliseconds.
    pub total_ms: f64,
    /// Median pause, in microseconds.
    pub p50_us: f64,
    /// 90th percentile, in microseconds.
    pub p90_us: f64,
    /// 99th percentile, in microseconds.
    pub p99_us: f64,
    /// Longest pause (median over runs of each run's longest), in microseconds.
    pub max_us: f64,
}

/// The CPU time of a cell's repetitions: that of the run's process over the workload, every
/// thread's (see [`cpu_time`](crate::cpu_time)).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuCell {
    /// User and system time together, in milliseconds.
    pub total_ms: Spread,
    /// The median over the repetitions of the share of system time (0 to 1).
    pub system_share: f64,
    /// The median over the repetitions of CPU time over wall time: the cores the run kept busy
    /// on average.
    pub cores: f64,
}

impl CpuCell {
    /// The CPU time of `records` (`None` where none has a reading).
    fn of(records: &[&RunRecord]) -> Option<CpuCell> {
        let readings: Vec<(f64, f64, f64)> = records
            .iter()
            .filter_map(|r| r.cpu_ms.map(|cpu| (cpu.total(), cpu.system, r.wall_ms)))
            .collect();
        if readings.is_empty() {
            return None;
        }
        let ratio = |part: f64, whole: f64| if whole > 0.0 { part / whole } else { 0.0 };
        let column =
            |f: &dyn Fn(&(f64, f64, f64)) -> f64| -> Vec<f64> { readings.iter().map(f).collect() };
        Some(CpuCell {
            total_ms: Spread::of(&column(&|r| r.0)),
            system_share: median(&column(&|r| ratio(r.1, r.0))),
            cores: median(&column(&|r| ratio(r.0, r.2))),
        })
    }
}

/// The median over `records` of the fraction of each run's collections whose marking was split,
/// over the records that count them (`None` if none does).
fn split_fraction(records: &[&RunRecord]) -> Option<f64> {
    let fractions: Vec<f64> = records
        .iter()
        .filter_map(|r| {
            let split = r.split_markings? as f64;
            let collections: u64 = r.collections.iter().sum();
            Some(if collections == 0 {
                0.0
            } else {
                split / collections as f64
            })
        })
        .collect();
    (!fractions.is_empty()).then(|| median(&fractions))
}

/// One (workload, configuration) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// The workload.
    pub workload: String,
    /// The configuration.
    pub config: String,
    /// Repetitions that produced a record.
    pub runs: u32,
    /// Wall time, in milliseconds.
    pub wall_ms: Spread,
    /// Median wall time divided by the baseline's (`rc`) for the same workload.
    pub relative_to_baseline: Option<f64>,
    /// CPU time, where the repetitions measured it (absent in reports made before it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuCell>,
    /// For a configuration whose detector may split its marking over several threads
    /// (`mark-sweep:N`, N > 1): the median over the repetitions of the fraction of collections
    /// whose marking it split (0 to 1). Absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_markings: Option<f64>,
    /// Pauses.
    pub pauses: PauseCell,
    /// Collections per run (all generations).
    pub collections: f64,
    /// Objects examined per run, where known.
    pub examined: Option<f64>,
    /// Peak workload nodes alive.
    pub peak_live_nodes: f64,
    /// Peak resident memory, in KiB.
    pub rss_peak_kib: f64,
    /// Resident memory at the end, in KiB.
    pub rss_end_kib: f64,
    /// The most nodes any repetition left unreclaimed.
    pub unreclaimed_nodes: u64,
    /// Whether the policy leaks cycles by design.
    pub leaks_by_design: bool,
    /// Whether every repetition passed the drop check.
    pub drop_check_passed: bool,
    /// Medians of the workload's own figures.
    pub figures: BTreeMap<String, f64>,
    /// Medians of the resident memory at each labelled sample (for `big-drop`), in KiB, in
    /// sample order.
    pub rss_steps_kib: Vec<(String, f64)>,
}

impl CellSummary {
    /// Summarises the records of one cell (all with the same workload and configuration; at
    /// least one).
    pub fn of(records: &[&RunRecord]) -> CellSummary {
        let first = records[0];
        let values = |f: &dyn Fn(&RunRecord) -> f64| -> Vec<f64> {
            records.iter().map(|r| f(r)).collect::<Vec<f64>>()
        };
        let med = |f: &dyn Fn(&RunRecord) -> f64| median(&values(f));

        let mut figure_names: Vec<&String> =
            records.iter().flat_map(|r| r.figures.keys()).collect();
        figure_names.sort();
        figure_names.dedup();
        let figures = figure_names
            .into_iter()
            .map(|name| {
                let values: Vec<f64> = records
                    .iter()
                    .filter_map(|r| r.figures.get(name).copied())
                    .collect();
                (name.clone(), median(&values))
            })
            .collect();

        let rss_steps_kib = first
            .samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.rss_kib > 0)
            .map(|(i, sample)| {
                let values: Vec<f64> = records
                    .iter()
                    .filter_map(|r| r.samples.get(i).map(|s| s.rss_kib as f64))
                    .collect();
                (sample.label.clone(), median(&values))
            })
            .collect();

        let examined: Vec<f64> = records
            .iter()
            .filter_map(|r| r.examined.map(|e| e as f64))
            .collect();

        CellSummary {
            workload: first.workload.clone(),
            config: first.config.clone(),
            runs: records.len() as u32,
            wall_ms: Spread::of(&values(&|r| r.wall_ms)),
            relative_to_baseline: None,
            cpu: CpuCell::of(records),
            split_markings: split_fraction(records),
            pauses: PauseCell {
                source: first.pauses.source.clone(),
                count: med(&|r| r.pauses.count as f64),
                total_ms: med(&|r| r.pauses.total_ms),
                p50_us: med(&|r| r.pauses.p50_us),
                p90_us: med(&|r| r.pauses.p90_us),
                p99_us: med(&|r| r.pauses.p99_us),
                max_us: med(&|r| r.pauses.max_us),
            },
            collections: med(&|r| r.collections.iter().sum::<u64>() as f64),
            examined: (!examined.is_empty()).then(|| median(&examined)),
            peak_live_nodes: med(&|r| r.peak_live_nodes as f64),
            rss_peak_kib: med(&|r| r.rss_kib.peak as f64),
            rss_end_kib: med(&|r| r.rss_kib.end as f64),
            unreclaimed_nodes: records
                .iter()
                .map(|r| r.unreclaimed_nodes)
                .max()
                .unwrap_or(0),
            leaks_by_design: first.leaks_by_design,
            drop_check_passed: records.iter().all(|r| r.drop_check.passed),
            figures,
            rss_steps_kib,
        }
    }
}

/// Summaries of every cell of `records`, in first-seen order of workloads and configurations,
/// with times relative to `baseline` where it ran the same workload.
pub fn summarize(records: &[RunRecord], baseline: &str) -> Vec<CellSummary> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for record in records {
        let key = (record.workload.as_str(), record.config.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let mut cells: Vec<CellSummary> = keys
        .iter()
        .map(|(workload, config)| {
            let cell: Vec<&RunRecord> = records
                .iter()
                .filter(|r| r.workload == *workload && r.config == *config)
                .collect();
            CellSummary::of(&cell)
        })
        .collect();
    let baselines: BTreeMap<String, f64> = cells
        .iter()
        .filter(|c| c.config == baseline)
        .map(|c| (c.workload.clone(), c.wall_ms.median))
        .collect();
    for cell in &mut cells {
        cell.relative_to_baseline = baselines
            .get(&cell.workload)
            .filter(|base| **base > 0.0)
            .map(|base| cell.wall_ms.median / base);
    }
    cells
}
