//! The comparison report: [`Report`] (what `report.json` holds) and its renderings.
//!
//! - [`summary`] reduces the repetitions of each (workload, configuration) cell to medians and
//!   spread;
//! - [`tables`] lays the summaries out as tables, once, for both renderings;
//! - [`markdown`] writes `report.md`, [`html`] writes `index.html`, [`plots`] the SVG figures it
//!   shows;
//! - [`output_dir`] writes everything into a temporary directory and renames it into place only
//!   when complete, so an interrupted or failed report never looks like a finished one.

pub mod html;
pub mod markdown;
pub mod output_dir;
pub mod plots;
pub mod shared;
pub mod summary;
pub mod tables;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::matrix::Matrix;
use crate::params::Params;
use crate::record::RunRecord;
use crate::runner::Failure;
use crate::scale::Scale;
use crate::shared::choice::SHARED_BASELINE;
use crate::shared::selection::SharedPlan;
use summary::CellSummary;

/// The version of the `report.json` layout; raised on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The configuration times are shown relative to.
pub const BASELINE: &str = "rc";

/// Everything a report says: the setup, every run's record, and the summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// The gc-bench version that wrote it.
    pub gclab_version: String,
    /// When the report was written (seconds since the Unix epoch).
    pub created_unix_s: u64,
    /// The machine it ran on.
    pub machine: Machine,
    /// The scale of every run.
    pub scale: Scale,
    /// Repetitions per cell.
    pub reps: u32,
    /// Wall time of the whole report, in seconds.
    pub elapsed_s: f64,
    /// The configuration times are relative to.
    pub baseline: String,
    /// The workloads, with their parameters at this scale.
    pub workloads: Vec<WorkloadInfo>,
    /// The configurations (gclab presets and peers).
    pub configs: Vec<ConfigInfo>,
    /// Pairs not run, and why.
    pub unsupported: Vec<UnsupportedPair>,
    /// Runs that produced no record.
    pub failures: Vec<Failure>,
    /// One summary per (workload, configuration) that ran.
    pub summaries: Vec<CellSummary>,
    /// Every run's record, in launch order.
    pub runs: Vec<RunRecord>,
    /// The thread-shared workloads (`shared-churn`, `producer-consumer`), with their parameters
    /// at this scale: kept apart from `workloads`, as their backends are not the matrix's (see
    /// [`crate::shared`]). Absent from a report without shared runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_workloads: Vec<WorkloadInfo>,
    /// The thread-shared backends (`sync-biased`, `sync-atomic`, `arc`, `dumpster-sync`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_configs: Vec<ConfigInfo>,
    /// One summary per (shared workload, shared backend) that ran; wall times relative to `arc`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_summaries: Vec<CellSummary>,
    /// Every shared run's record, in launch order (their failures are in `failures`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_runs: Vec<RunRecord>,
}

/// The machine a report ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// Hardware threads available.
    pub cores: usize,
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
}

impl Machine {
    /// This machine.
    pub fn this() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
        }
    }
}

/// A workload as the report describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadInfo {
    /// Its name.
    pub name: String,
    /// What it does.
    pub summary: String,
    /// Its parameter values at the report's scale.
    pub params: BTreeMap<String, f64>,
    /// Why backends without a cycle collector cannot run it, if they cannot.
    pub needs_tracing: Option<String>,
    /// For a snapshot workload, the snapshot file it replays. Absent for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A configuration as the report describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// Its name.
    pub name: String,
    /// `"gclab"` or `"peer"`.
    pub kind: String,
    /// What it is (full gclab configuration, or crate, version and algorithm).
    pub description: String,
    /// The peer crate's version.
    pub crate_version: Option<String>,
    /// Other preset names for the same configuration.
    pub aliases: Vec<String>,
}

/// A pair of the matrix that was not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedPair {
    /// The workload.
    pub workload: String,
    /// The configuration.
    pub config: String,
    /// Why.
    pub reason: String,
}

impl Report {
    /// Assembles a report from the matrix that ran and its outcomes.
    pub fn new(
        matrix: &Matrix,
        scale: Scale,
        reps: u32,
        runs: Vec<RunRecord>,
        failures: Vec<Failure>,
        elapsed_s: f64,
    ) -> Report {
        let workloads = matrix
            .workloads
            .iter()
            .map(|w| WorkloadInfo {
                name: w.name().to_owned(),
                summary: w.summary().to_owned(),
                params: Params::resolve(w.name(), w.params(), scale, &[])
                    .map(|p| p.values().clone())
                    .unwrap_or_default(),
                needs_tracing: w.needs_tracing().map(str::to_owned),
                file: None,
            })
            .collect();
        let configs = matrix
            .backends
            .iter()
            .map(|b| ConfigInfo {
                name: b.name().to_owned(),
                kind: b.kind().to_owned(),
                description: b.describe(),
                crate_version: b.crate_version().map(str::to_owned),
                aliases: matrix
                    .aliases
                    .iter()
                    .find(|(name, _)| name == b.name())
                    .map(|(_, aliases)| aliases.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let unsupported = matrix
            .unsupported()
            .into_iter()
            .map(|u| UnsupportedPair {
                workload: u.workload.name().to_owned(),
                config: u.backend,
                reason: u.reason,
            })
            .collect();
        let summaries = summary::summarize(&runs, BASELINE);
        Report {
            schema_version: SCHEMA_VERSION,
            gclab_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_unix_s: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            machine: Machine::this(),
            scale,
            reps,
            elapsed_s,
            baseline: BASELINE.to_owned(),
            workloads,
            configs,
            unsupported,
            failures,
            summaries,
            runs,
            shared_workloads: Vec::new(),
            shared_configs: Vec::new(),
            shared_summaries: Vec::new(),
            shared_runs: Vec::new(),
        }
    }

    /// Adds the thread-shared runs of `plan`: their records, their failures (to `failures`),
    /// and their summaries relative to `arc`.
    pub fn with_shared(
        mut self,
        plan: &SharedPlan,
        runs: Vec<RunRecord>,
        failures: Vec<Failure>,
    ) -> Report {
        self.shared_workloads = plan
            .workloads
            .iter()
            .map(|w| WorkloadInfo {
                name: w.name().to_owned(),
                summary: w.summary().to_owned(),
                params: Params::resolve(w.name(), w.params(), self.scale, &[])
                    .map(|p| p.values().clone())
                    .unwrap_or_default(),
                needs_tracing: None,
                file: None,
            })
            .collect();
        self.shared_configs = plan
            .backends
            .iter()
            .map(|b| ConfigInfo {
                name: b.name().to_owned(),
                kind: b.kind().to_owned(),
                description: b.describe(),
                crate_version: b.crate_version().map(str::to_owned),
                aliases: Vec::new(),
            })
            .collect();
        self.shared_summaries = summary::summarize(&runs, SHARED_BASELINE);
        self.shared_runs = runs;
        self.failures.extend(failures);
        self
    }

    /// The summary of one cell, if it ran.
    pub fn cell(&self, workload: &str, config: &str) -> Option<&CellSummary> {
        self.summaries
            .iter()
            .find(|c| c.workload == workload && c.config == config)
    }

    /// Runs whose drop check failed, shared runs included.
    pub fn drop_check_failures(&self) -> Vec<&RunRecord> {
        self.all_runs().filter(|r| !r.drop_check.passed).collect()
    }

    /// Runs whose record holds errors (a snapshot collection that did not find CPython's count),
    /// shared runs included.
    pub fn runs_with_errors(&self) -> Vec<&RunRecord> {
        self.all_runs().filter(|r| !r.errors.is_empty()).collect()
    }

    /// Every record: the matrix's runs, then the shared runs.
    pub fn all_runs(&self) -> impl Iterator<Item = &RunRecord> {
        self.runs.iter().chain(&self.shared_runs)
    }

    /// Whether every run produced a record, passed the drop check and holds no error.
    pub fn all_passed(&self) -> bool {
        self.failures.is_empty()
            && self.drop_check_failures().is_empty()
            && self.runs_with_errors().is_empty()
    }

    /// The snapshot workloads (those with a [`WorkloadInfo::file`]), in report order.
    pub fn snapshot_workloads(&self) -> Vec<&WorkloadInfo> {
        self.workloads.iter().filter(|w| w.file.is_some()).collect()
    }
}
