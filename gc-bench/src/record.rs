//! [`RunRecord`]: everything measured in one run of one workload on one backend — the JSON
//! record a child process prints and `report.json` collects.
//!
//! Counts the backend cannot tell are `null` (`None`); see [`BackendMetrics`] for which backend
//! knows what.
//!
//! [`BackendMetrics`]: crate::backend::BackendMetrics

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scale::Scale;

/// One run, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The workload's name — for `snapshot`, with the file's stem (`snapshot-parent_trees`), so
    /// that each file is a workload of its own in a report.
    pub workload: String,
    /// The backend's name as given (`cpython312`, `gcmodule`).
    pub config: String,
    /// What the backend is: gclab's full configuration, or the crate with its version.
    pub config_full: String,
    /// `"gclab"` or `"peer"`.
    pub kind: String,
    /// The peer crate's version (none for gclab and `std`).
    pub crate_version: Option<String>,
    /// The scale the parameters' defaults came from.
    pub scale: Scale,
    /// The repetition (0-based).
    pub rep: u32,
    /// The parameter values used.
    pub params: BTreeMap<String, f64>,
    /// The path parameters used (the `snapshot` workload's `file`); absent when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub text_params: BTreeMap<String, String>,
    /// Wall time of the workload, its own collect calls included, in milliseconds.
    pub wall_ms: f64,
    /// The full collection after the workload (not in `wall_ms`), in milliseconds: it finds what
    /// the workload left unreclaimed.
    pub final_collect_ms: f64,
    /// Objects allocated: the manager's own count where it has one, else workload nodes.
    pub objects_allocated: u64,
    /// Objects freed, after the final collection (same source as `objects_allocated`).
    pub objects_freed: u64,
    /// Bytes allocated by the manager (headers included), where known.
    pub bytes_allocated: Option<u64>,
    /// Bytes freed by the manager, where known.
    pub bytes_freed: Option<u64>,
    /// Collections per generation, youngest first, during the workload.
    pub collections: Vec<u64>,
    /// The pauses during the workload.
    pub pauses: PauseSummary,
    /// Objects examined by collections, where known.
    pub examined: Option<u64>,
    /// Unreachable objects found by collections, where known.
    pub collected: Option<u64>,
    /// The most workload nodes alive at once (created, not yet dropped — garbage included).
    pub peak_live_nodes: u64,
    /// The most objects tracked by the collector, where known.
    pub peak_tracked: Option<u64>,
    /// The most bytes live in the manager's heap, where known.
    pub peak_live_bytes: Option<u64>,
    /// Resident memory of the child process.
    pub rss_kib: RssKib,
    /// CPU time of the run's process during the workload (every thread; see
    /// [`cpu_time`](crate::cpu_time)); absent where the operating system does not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<CpuMs>,
    /// Collections whose marking was split over several threads, for a configuration whose
    /// detector may split it (`mark-sweep:N`, N > 1; see `gc_refcount::MarkSweep`); absent for
    /// the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_markings: Option<u64>,
    /// Workload nodes never dropped, after the final collection.
    pub unreclaimed_nodes: u64,
    /// Whether the policy leaks garbage cycles by design (then `unreclaimed_nodes` may be > 0).
    pub leaks_by_design: bool,
    /// Every node dropped exactly once?
    pub drop_check: DropCheck,
    /// Time series the workload recorded (steps of `big-drop`, ticks of `steady-burst`, …).
    pub samples: Vec<Sample>,
    /// Workload-specific figures (`collect_ms` of `rings`, tick latencies of `steady-burst`, …).
    pub figures: BTreeMap<String, f64>,
    /// Results the workload found wrong (a snapshot whose collection did not find CPython's
    /// unreachable count): a run with errors is a failed run, though its figures are kept. Absent
    /// when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Pauses of one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PauseSummary {
    /// `"collector"` (every collection), `"explicit"` (explicit collect calls only) or `"none"`.
    pub source: String,
    /// Number of pauses.
    pub count: u64,
    /// Their sum, in milliseconds.
    pub total_ms: f64,
    /// Median, in microseconds.
    pub p50_us: f64,
    /// 90th percentile, in microseconds.
    pub p90_us: f64,
    /// 99th percentile, in microseconds.
    pub p99_us: f64,
    /// Longest, in microseconds.
    pub max_us: f64,
    /// Log-scale histogram, non-empty buckets only (see [`pauses`](crate::pauses)).
    pub histogram: Vec<HistogramBucket>,
}

/// One bucket of a pause histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HistogramBucket {
    /// The bucket's index (pauses in `(2^((index-1)/4), 2^(index/4)]` µs).
    pub index: i32,
    /// The bucket's upper bound, in microseconds.
    pub upper_us: f64,
    /// Pauses in it.
    pub count: u64,
}

/// Resident memory of a run's process, in KiB (0 where the OS does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RssKib {
    /// Before the workload started (after the heap was configured).
    pub start: u64,
    /// The process's high-water mark at the end.
    pub peak: u64,
    /// After the final collection.
    pub end: u64,
}

/// CPU time in milliseconds, summed over the threads of a run's process.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CpuMs {
    /// Running the process's own code.
    pub user: f64,
    /// In the kernel on the process's behalf.
    pub system: f64,
}

impl CpuMs {
    /// User and system time together.
    pub fn total(&self) -> f64 {
        self.user + self.system
    }
}

/// The drop check: every node dropped exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropCheck {
    /// Nodes created.
    pub created: u64,
    /// Nodes dropped (once each).
    pub dropped: u64,
    /// Drops of an already dropped node: always a bug.
    pub double_drops: u64,
    /// Whether every node had to be dropped (false where the policy leaks cycles by design).
    pub all_expected: bool,
    /// No double drop, and every node dropped where that is expected.
    pub passed: bool,
}

/// One point of a run's time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// What the point is (`built`, `dropped`, `tick`).
    pub label: String,
    /// The workload's step counter at the point.
    pub step: u64,
    /// Workload nodes alive (created and not dropped: reachable or garbage).
    pub live_nodes: u64,
    /// Objects tracked by the collector, where known.
    pub tracked: Option<u64>,
    /// Resident memory, in KiB.
    pub rss_kib: u64,
}
