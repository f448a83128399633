//! The report's matrix: which workloads run on which backends.
//!
//! The default matrix is every workload × every gclab preset (read from
//! [`gc_refcount::PRESETS`] at run time, aliases folded: see
//! [`default_configurations`]) × every peer this build
//! has. A (workload, backend) pair the backend cannot express — a workload that needs a tracing
//! collector on a backend that breaks cycles by hand — is not run; the report lists it with the
//! reason.
//!
//! `--only PATTERN` narrows the matrix. PATTERN is a comma-separated list of terms; `*` in a term
//! matches any run of characters. Terms that match workload names select workloads, terms that
//! match backend names select backends, and a pair runs if it is selected on both sides (a side
//! with no term keeps all). A term without `*` that names a valid backend outside the default
//! matrix — any `DETECTOR/SCHEDULER/ALLOCATOR` combination — adds it. A term that matches
//! nothing is an error naming the valid choices.

use crate::backends::{default_configurations, BackendChoice, Peer};
use crate::workloads::WorkloadId;

/// Workloads × backends, with the pairs that cannot run.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// The workloads, in report order.
    pub workloads: Vec<WorkloadId>,
    /// The backends, in report order: gclab configurations first, then peers.
    pub backends: Vec<BackendChoice>,
    /// Preset aliases folded into a backend: (backend name, aliases).
    pub aliases: Vec<(String, Vec<String>)>,
}

/// A pair of the matrix that is not run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The workload.
    pub workload: WorkloadId,
    /// The backend's name.
    pub backend: String,
    /// Why it cannot run.
    pub reason: String,
}

impl Matrix {
    /// The default matrix (see the [module docs](self)).
    pub fn default_matrix() -> Matrix {
        let mut backends = Vec::new();
        let mut aliases = Vec::new();
        for (name, full_name, folded) in default_configurations() {
            if !folded.is_empty() {
                aliases.push((name.clone(), folded));
            }
            backends.push(BackendChoice::Gclab { name, full_name });
        }
        backends.extend(Peer::ALL.iter().map(|peer| BackendChoice::Peer(*peer)));
        Matrix {
            workloads: WorkloadId::ALL.to_vec(),
            backends,
            aliases,
        }
    }

    /// Narrows the matrix by `pattern` (see the [module docs](self)).
    pub fn only(mut self, pattern: &str) -> Result<Matrix, String> {
        let mut workload_terms = Vec::new();
        let mut backend_terms = Vec::new();
        let mut extra_backends = Vec::new();
        for term in pattern.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let workload_hit = self.workloads.iter().any(|w| glob(term, w.name()));
            let backend_hit = self.backends.iter().any(|b| glob(term, b.name()));
            if workload_hit {
                workload_terms.push(term);
            }
            if backend_hit {
                backend_terms.push(term);
            }
            if !workload_hit && !backend_hit {
                match BackendChoice::parse(term) {
                    Ok(choice) if !term.contains('*') => {
                        backend_terms.push(term);
                        extra_backends.push(choice);
                    }
                    _ => {
                        return Err(format!(
                            "--only: {term:?} matches no workload and no configuration; \
                             workloads: {}; configurations: {} (or any \
                             DETECTOR/SCHEDULER/ALLOCATOR name)",
                            WorkloadId::names(),
                            self.backends
                                .iter()
                                .map(BackendChoice::name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                }
            }
        }
        if workload_terms.is_empty() && backend_terms.is_empty() {
            return Err("--only: empty pattern (give workload or configuration names)".into());
        }
        self.backends.extend(extra_backends);
        if !workload_terms.is_empty() {
            self.workloads
                .retain(|w| workload_terms.iter().any(|t| glob(t, w.name())));
        }
        if !backend_terms.is_empty() {
            self.backends
                .retain(|b| backend_terms.iter().any(|t| glob(t, b.name())));
        }
        let kept: Vec<&str> = self.backends.iter().map(BackendChoice::name).collect();
        self.aliases
            .retain(|(name, _)| kept.contains(&name.as_str()));
        Ok(self)
    }

    /// The pairs that cannot run, with the reason.
    pub fn unsupported(&self) -> Vec<Unsupported> {
        let mut pairs = Vec::new();
        for &workload in &self.workloads {
            for backend in &self.backends {
                if let Some(reason) = cannot_run(workload, backend) {
                    pairs.push(Unsupported {
                        workload,
                        backend: backend.name().to_owned(),
                        reason,
                    });
                }
            }
        }
        pairs
    }

    /// The pairs that run, workloads outer, backends inner.
    pub fn runnable(&self) -> Vec<(WorkloadId, BackendChoice)> {
        let mut pairs = Vec::new();
        for &workload in &self.workloads {
            for backend in &self.backends {
                if cannot_run(workload, backend).is_none() {
                    pairs.push((workload, backend.clone()));
                }
            }
        }
        pairs
    }
}

/// Why `backend` cannot run `workload`, if it cannot.
pub fn cannot_run(workload: WorkloadId, backend: &BackendChoice) -> Option<String> {
    match workload.needs_tracing() {
        Some(why) if backend.breaks_cycles_by_hand() => Some(format!(
            "{} has no cycle collector and {}: {why}",
            backend.name(),
            workload.name()
        )),
        _ => None,
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob("trees", "trees"));
        assert!(!glob("tree", "trees"));
        assert!(glob("cpython*", "cpython312"));
        assert!(glob("*rc", "std-rc"));
        assert!(glob("*", "anything"));
        assert!(glob("g*-*n", "graph-churn"));
        assert!(!glob("g*x", "graph-churn"));
        assert!(glob("a*a", "aa"));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn only_selects_on_both_sides() {
        let matrix = Matrix::default_matrix().only("trees,rc").unwrap();
        assert_eq!(matrix.workloads, vec![WorkloadId::Trees]);
        assert_eq!(matrix.backends.len(), 1);
        assert_eq!(matrix.backends[0].name(), "rc");
        let all_trees = Matrix::default_matrix().only("trees").unwrap();
        assert_eq!(
            all_trees.backends.len(),
            Matrix::default_matrix().backends.len()
        );
    }

    #[test]
    fn only_adds_a_valid_configuration_and_refuses_unknown_terms() {
        let custom = Matrix::default_matrix()
            .only("rings,trial-deletion/cpython:1000,10,10/system")
            .unwrap_err();
        // The comma inside the name splits it: a clear error, not a silent mismatch.
        assert!(custom.contains("matches no workload"), "{custom}");
        let custom = Matrix::default_matrix()
            .only("rings,none/threshold:100/system")
            .unwrap();
        assert_eq!(custom.backends.len(), 1);
        let error = Matrix::default_matrix().only("bogus").unwrap_err();
        assert!(
            error.contains("trees") && error.contains("cpython312"),
            "{error}"
        );
    }

    #[test]
    fn the_default_matrix_has_every_preset_once() {
        let matrix = Matrix::default_matrix();
        let names: Vec<&str> = matrix.backends.iter().map(BackendChoice::name).collect();
        assert!(names.contains(&"cpython312") && names.contains(&"rc"));
        assert!(
            !names.contains(&"default"),
            "default is an alias of cpython312"
        );
    }
}
