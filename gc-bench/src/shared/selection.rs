//! Which thread-shared runs a report makes, and how `--only` chooses among them and the matrix.
//!
//! The report runs every shared workload on every shared backend ([`SharedPlan::all`]). An
//! `--only` pattern ([`select`]) is read over both sides at once, as if workloads and backends
//! were each one list: a term selects the workloads (single-threaded, snapshot or shared) and the
//! backends (matrix configurations or shared backends) whose names it matches, and a pair runs if
//! both of its names are selected (a side with no term keeps all). So `--only shared-churn` runs
//! `shared-churn` on every shared backend and nothing of the matrix, `--only arc,sync-biased` runs
//! both shared workloads on those two, `--only rings,arc` runs nothing (no backend of `rings` is
//! selected, nor any workload of `arc`), and a term that matches nothing anywhere is an error
//! naming every choice.

use super::{SharedBackendChoice, SharedWorkloadId};
use crate::backends::BackendChoice;
use crate::matrix::{glob, split_terms, Matrix};

/// The shared runs of a report: workloads × backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPlan {
    /// The workloads, in report order.
    pub workloads: Vec<SharedWorkloadId>,
    /// The backends, in report order.
    pub backends: Vec<SharedBackendChoice>,
}

/// One shared run to launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPlannedRun {
    /// The workload.
    pub workload: SharedWorkloadId,
    /// The backend.
    pub backend: SharedBackendChoice,
    /// The repetition.
    pub rep: u32,
}

impl SharedPlan {
    /// Every shared workload on every shared backend of this build.
    pub fn all() -> SharedPlan {
        SharedPlan {
            workloads: SharedWorkloadId::ALL.to_vec(),
            backends: SharedBackendChoice::ALL.to_vec(),
        }
    }

    /// No shared run.
    pub fn none() -> SharedPlan {
        SharedPlan {
            workloads: Vec::new(),
            backends: Vec::new(),
        }
    }

    /// The pairs, workloads outer.
    pub fn pairs(&self) -> Vec<(SharedWorkloadId, SharedBackendChoice)> {
        self.workloads
            .iter()
            .flat_map(|&w| self.backends.iter().map(move |&b| (w, b)))
            .collect()
    }

    /// The launch order: repetition-major, so that backends interleave (A B A B …), as the
    /// matrix's runs do.
    pub fn interleaved(&self, reps: u32) -> Vec<SharedPlannedRun> {
        let pairs = self.pairs();
        (0..reps)
            .flat_map(|rep| {
                pairs
                    .iter()
                    .map(move |&(workload, backend)| SharedPlannedRun {
                        workload,
                        backend,
                        rep,
                    })
            })
            .collect()
    }

    /// Whether no run is planned.
    pub fn is_empty(&self) -> bool {
        self.workloads.is_empty() || self.backends.is_empty()
    }
}

/// What a report runs: the matrix and the shared plan.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The single-threaded matrix (with its snapshot workloads).
    pub matrix: Matrix,
    /// The thread-shared runs.
    pub shared: SharedPlan,
}

/// Narrows `matrix` and the full shared plan by an `--only` pattern (see the
/// [module docs](self)); without one, both run whole.
pub fn select(matrix: Matrix, pattern: Option<&str>) -> Result<Selection, String> {
    let Some(pattern) = pattern else {
        return Ok(Selection {
            matrix,
            shared: SharedPlan::all(),
        });
    };
    let terms = split_terms(pattern);
    if terms.is_empty() {
        // The matrix's own message for an empty pattern.
        return Err(matrix.only(pattern).err().unwrap_or_default());
    }
    let shared_workload = |term: &str| SharedWorkloadId::ALL.iter().any(|w| glob(term, w.name()));
    let shared_backend = |term: &str| {
        SharedBackendChoice::ALL
            .iter()
            .any(|b| glob(term, b.name()))
    };
    let matrix_workload = |term: &str| {
        matrix.workloads.iter().any(|w| glob(term, w.name()))
            || matrix.snapshots.iter().any(|name| glob(term, name))
    };
    let matrix_backend = |term: &str| {
        matrix.backends.iter().any(|b| glob(term, b.name()))
            || (!term.contains('*') && BackendChoice::parse(term).is_ok())
    };

    let mut matrix_terms = Vec::new();
    let (mut any_workload, mut any_backend) = (false, false);
    let (mut matrix_workloads, mut matrix_backends) = (false, false);
    for &term in &terms {
        let (mw, mb) = (matrix_workload(term), matrix_backend(term));
        let (sw, sb) = (shared_workload(term), shared_backend(term));
        if !(mw || mb || sw || sb) {
            let error = matrix.only(term).err().unwrap_or_default();
            return Err(format!(
                "{error}; thread-shared workloads: {}; thread-shared backends: {}",
                SharedWorkloadId::names(),
                SharedBackendChoice::names()
            ));
        }
        any_workload |= mw || sw;
        any_backend |= mb || sb;
        matrix_workloads |= mw;
        matrix_backends |= mb;
        if mw || mb {
            matrix_terms.push(term);
        }
    }

    let mut matrix = if matrix_terms.is_empty() {
        matrix
    } else {
        matrix.only(&matrix_terms.join(","))?
    };
    if any_workload && !matrix_workloads {
        matrix.workloads.clear();
        matrix.snapshots.clear();
    }
    if any_backend && !matrix_backends {
        matrix.backends.clear();
        matrix.aliases.clear();
    }

    let mut shared = SharedPlan::all();
    if any_workload {
        shared
            .workloads
            .retain(|w| terms.iter().any(|t| glob(t, w.name())));
    }
    if any_backend {
        shared
            .backends
            .retain(|b| terms.iter().any(|t| glob(t, b.name())));
    }
    Ok(Selection { matrix, shared })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::WorkloadId;

    fn pick(pattern: &str) -> Selection {
        select(Matrix::default_matrix(), Some(pattern)).unwrap()
    }

    #[test]
    fn no_pattern_runs_everything() {
        let all = select(Matrix::default_matrix(), None).unwrap();
        assert_eq!(all.shared, SharedPlan::all());
        assert_eq!(
            all.matrix.workloads.len(),
            Matrix::default_matrix().workloads.len()
        );
    }

    #[test]
    fn a_shared_workload_alone_runs_on_every_shared_backend() {
        let only = pick("shared-churn");
        assert!(only.matrix.runnable().is_empty());
        assert_eq!(only.shared.workloads, [SharedWorkloadId::SharedChurn]);
        assert_eq!(only.shared.backends, SharedBackendChoice::ALL);
    }

    #[test]
    fn shared_backends_select_both_shared_workloads() {
        let only = pick("arc,sync-biased");
        assert!(only.matrix.runnable().is_empty());
        assert_eq!(only.shared.workloads, SharedWorkloadId::ALL);
        assert_eq!(
            only.shared.backends,
            [SharedBackendChoice::SyncBiased, SharedBackendChoice::Arc]
        );
    }

    #[test]
    fn matrix_terms_leave_the_shared_runs_out() {
        let only = pick("trees,rc");
        assert!(only.shared.is_empty());
        assert_eq!(only.matrix.workloads, [WorkloadId::Trees]);
        let mixed = pick("rings,cpython312,producer-consumer,arc");
        assert_eq!(mixed.matrix.workloads, [WorkloadId::Rings]);
        assert_eq!(mixed.matrix.backends.len(), 1);
        assert_eq!(mixed.shared.workloads, [SharedWorkloadId::ProducerConsumer]);
        assert_eq!(mixed.shared.backends, [SharedBackendChoice::Arc]);
        let crossed = pick("rings,arc");
        assert!(crossed.matrix.runnable().is_empty() && crossed.shared.is_empty());
        let stars = pick("*churn");
        assert_eq!(stars.matrix.workloads, [WorkloadId::GraphChurn]);
        assert_eq!(stars.shared.workloads, [SharedWorkloadId::SharedChurn]);
    }

    #[test]
    fn an_unknown_term_names_the_shared_choices_too() {
        let error = select(Matrix::default_matrix(), Some("nothing-like-this")).unwrap_err();
        for needle in [
            "nothing-like-this",
            "trees",
            "cpython312",
            "shared-churn",
            "arc",
        ] {
            assert!(error.contains(needle), "{needle} missing: {error}");
        }
    }
}
