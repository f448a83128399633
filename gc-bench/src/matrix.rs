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
//! matches any run of characters. A comma directly followed by a digit does not separate terms:
//! it belongs to a configuration's parameter list, so
//! `rings,trial-deletion/cpython:1000,10,10/system` is two terms, `rings` and the whole
//! configuration name (see [`split_terms`]; no workload, preset, peer or policy name starts with
//! a digit). Terms that match workload names select workloads, terms that
//! match backend names select backends, and a pair runs if it is selected on both sides (a side
//! with no term keeps all). A term without `*` that names a valid backend outside the default
//! matrix — any `DETECTOR/SCHEDULER/ALLOCATOR` combination — adds it. A term that matches
//! nothing is an error naming the valid choices.
//!
//! Snapshot workloads — one per heap snapshot file, named `snapshot-STEM` — are not
//! [`WorkloadId`]s of their own (they are the `snapshot` workload with a `file` parameter), so the
//! matrix holds their names apart, in [`Matrix::snapshots`] (set with
//! [`Matrix::with_snapshots`]); `--only` selects among them like among the other workloads
//! (`snapshot-parent_trees`, `snapshot*`). They run only on backends that collect cycles: every
//! answer of a replay is checked against CPython's count, which a configuration without a cycle
//! detector (`rc`) cannot find by design.

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
    /// The names of the snapshot workloads (`snapshot-STEM`), in report order; see the
    /// [module docs](self).
    pub snapshots: Vec<String>,
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
            snapshots: Vec::new(),
        }
    }

    /// The matrix with these snapshot workloads (their names, `snapshot-STEM`) beside the others.
    pub fn with_snapshots(mut self, names: impl IntoIterator<Item = String>) -> Matrix {
        self.snapshots = names.into_iter().collect();
        self
    }

    /// Narrows the matrix by `pattern` (see the [module docs](self)).
    pub fn only(mut self, pattern: &str) -> Result<Matrix, String> {
        let mut workload_terms = Vec::new();
        let mut backend_terms = Vec::new();
        let mut extra_backends = Vec::new();
        for term in split_terms(pattern) {
            let workload_hit = self.workloads.iter().any(|w| glob(term, w.name()))
                || self.snapshots.iter().any(|name| glob(term, name));
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
                            self.workload_names(),
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
            self.snapshots
                .retain(|name| workload_terms.iter().any(|t| glob(t, name)));
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

    /// The workload names a pattern can select, comma separated (for error messages).
    fn workload_names(&self) -> String {
        let mut names: Vec<&str> = self.workloads.iter().map(|w| w.name()).collect();
        names.extend(self.snapshots.iter().map(String::as_str));
        if self.snapshots.is_empty() {
            names.push("snapshot-STEM (with --snapshot FILE, or the example programs exported)");
        }
        names.join(", ")
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

/// The terms of an `--only` pattern: split at commas, except a comma directly followed by a
/// digit, which continues the term before it (`cpython:1000,10,10` is one scheduler name);
/// surrounding white space trimmed, empty terms dropped.
///
/// ```
/// use gc_bench::matrix::split_terms;
/// assert_eq!(
///     split_terms("rings, trial-deletion/cpython:1000,10,10/system,rc"),
///     ["rings", "trial-deletion/cpython:1000,10,10/system", "rc"]
/// );
/// ```
pub fn split_terms(pattern: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    for (at, c) in pattern.char_indices() {
        let continues = pattern[at + 1..].starts_with(|next: char| next.is_ascii_digit());
        if c == ',' && !continues {
            terms.push(&pattern[start..at]);
            start = at + 1;
        }
    }
    terms.push(&pattern[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .collect()
}

/// Why `backend` cannot run `workload`, if it cannot: a workload that needs a tracing collector
/// on a backend that breaks cycles by hand, or a snapshot on a backend that collects no cycles
/// (see the [module docs](self)).
pub fn cannot_run(workload: WorkloadId, backend: &BackendChoice) -> Option<String> {
    match workload.needs_tracing() {
        Some(why) if backend.breaks_cycles_by_hand() => Some(format!(
            "{} has no cycle collector and {}: {why}",
            backend.name(),
            workload.name()
        )),
        _ if workload == WorkloadId::Snapshot && !backend.collects_cycles() => Some(format!(
            "{} has no cycle detector, so it cannot find the unreachable objects CPython's \
             collector found (a replay must find exactly that count)",
            backend.name()
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
    fn split_terms_keeps_parameter_lists_whole() {
        assert_eq!(split_terms("trees,rc"), ["trees", "rc"]);
        assert_eq!(split_terms(" trees , rc ,,"), ["trees", "rc"]);
        assert_eq!(split_terms(""), Vec::<&str>::new());
        assert_eq!(
            split_terms("trial-deletion/cpython:1000,10,10/system"),
            ["trial-deletion/cpython:1000,10,10/system"]
        );
        assert_eq!(
            split_terms("rings,trial-deletion/cpython:1000,10,10/system,cpython*"),
            [
                "rings",
                "trial-deletion/cpython:1000,10,10/system",
                "cpython*"
            ]
        );
        // Only a digit right after the comma continues a term.
        assert_eq!(split_terms("cpython:1000, 10"), ["cpython:1000", "10"]);
    }

    #[test]
    fn no_name_a_pattern_can_select_starts_with_a_digit() {
        // `split_terms` relies on it: a comma before a digit is never a separator.
        let matrix = Matrix::default_matrix();
        let names = matrix
            .workloads
            .iter()
            .map(|w| w.name())
            .chain(matrix.backends.iter().map(BackendChoice::name));
        for name in names {
            assert!(!name.starts_with(|c: char| c.is_ascii_digit()), "{name}");
        }
    }

    #[test]
    fn only_adds_a_valid_configuration_and_refuses_unknown_terms() {
        let custom = Matrix::default_matrix()
            .only("rings,trial-deletion/cpython:1000,10,10/system")
            .unwrap();
        assert_eq!(custom.workloads, vec![WorkloadId::Rings]);
        let names: Vec<&str> = custom.backends.iter().map(BackendChoice::name).collect();
        assert_eq!(names, ["trial-deletion/cpython:1000,10,10/system"]);
        let with_presets = Matrix::default_matrix()
            .only("trial-deletion/cpython:1000,10,10/system,rc,cpython312")
            .unwrap();
        assert_eq!(with_presets.backends.len(), 3);
        assert_eq!(
            with_presets.workloads.len(),
            Matrix::default_matrix().workloads.len()
        );
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
    fn only_selects_snapshot_workloads_by_name() {
        let names = ["snapshot-big_graph", "snapshot-tracebacks"].map(str::to_owned);
        let matrix = || Matrix::default_matrix().with_snapshots(names.clone());
        let all = matrix().only("snapshot*").unwrap();
        assert!(all.workloads.is_empty());
        assert_eq!(all.snapshots, names);
        assert_eq!(all.backends.len(), matrix().backends.len());
        let one = matrix()
            .only("rings,snapshot-tracebacks,cpython312")
            .unwrap();
        assert_eq!(one.workloads, [WorkloadId::Rings]);
        assert_eq!(one.snapshots, ["snapshot-tracebacks"]);
        let none = matrix().only("rings").unwrap();
        assert!(none.snapshots.is_empty());
        let configs_only = matrix().only("cpython312").unwrap();
        assert_eq!(configs_only.snapshots, names);
        let error = matrix().only("snapshot-nope").unwrap_err();
        assert!(error.contains("snapshot-big_graph"), "{error}");
        let error = Matrix::default_matrix().only("snapshot*").unwrap_err();
        assert!(error.contains("--snapshot FILE"), "{error}");
    }

    #[test]
    fn snapshots_run_only_where_cycles_are_collected() {
        let rc = BackendChoice::parse("rc").unwrap();
        let cpython = BackendChoice::parse("cpython312").unwrap();
        let custom = BackendChoice::parse("none/cpython312/system").unwrap();
        assert!(cannot_run(WorkloadId::Snapshot, &rc).is_some_and(|r| r.contains("no cycle")));
        assert!(cannot_run(WorkloadId::Snapshot, &custom).is_some());
        assert_eq!(cannot_run(WorkloadId::Snapshot, &cpython), None);
        assert_eq!(
            cannot_run(WorkloadId::GraphChurn, &rc),
            None,
            "rc leaks, by design"
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
