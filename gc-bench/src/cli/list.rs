//! `gclab list`: what can be run — workloads with their parameters, configurations, peers.

use gc_bench::backends::{default_configurations, preset_names, BackendChoice, Peer};
use gc_bench::matrix::cannot_run;
use gc_bench::params::{ParamKind, ParamSpec};
use gc_bench::shared::{SharedBackendChoice, SharedWorkloadId};
use gc_bench::workloads::WorkloadId;
use gc_bench::Scale;
use gc_refcount::PRESETS;
use std::fmt::Write;

/// Prints the lists.
pub fn execute() {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "WORKLOADS (parameter defaults: tiny / small / medium / large)"
    );
    for workload in WorkloadId::EVERY {
        let _ = writeln!(out, "\n  {:<14} {}", workload.name(), workload.summary());
        list_params(&mut out, workload.params());
    }
    let _ = writeln!(
        out,
        "\nTHREAD-SHARED WORKLOADS (on the thread-shared backends below; same parameter layout)"
    );
    for workload in SharedWorkloadId::ALL {
        let _ = writeln!(out, "\n  {:<17} {}", workload.name(), workload.summary());
        list_params(&mut out, workload.params());
    }

    let _ = writeln!(
        out,
        "\nCONFIGURATIONS (gclab presets; the default report runs each once)"
    );
    let in_matrix: Vec<String> = default_configurations()
        .into_iter()
        .map(|(name, _, _)| name)
        .collect();
    for (name, full) in PRESETS {
        let note = if in_matrix.iter().any(|n| n == name) {
            ""
        } else {
            " (alias: not run separately)"
        };
        let _ = writeln!(out, "  {name:<16} {full}{note}");
    }
    let _ = writeln!(
        out,
        "  any combination: [DISCIPLINE/]DETECTOR/SCHEDULER/ALLOCATOR, e.g. \
         trial-deletion/cpython:1000,10,10/system (see gc_refcount::config; presets: {})",
        preset_names().join(", ")
    );

    let _ = writeln!(out, "\nPEERS");
    if Peer::ALL.is_empty() {
        let _ = writeln!(
            out,
            "  none: this gclab was built without the `peers` feature"
        );
    }
    for peer in Peer::ALL {
        let _ = writeln!(out, "  {:<16} {}", peer.name(), peer.describe());
        let choice = BackendChoice::Peer(*peer);
        for workload in WorkloadId::EVERY {
            if let Some(reason) = cannot_run(workload, &choice) {
                let _ = writeln!(
                    out,
                    "  {:<16}   cannot run {}: {reason}",
                    "",
                    workload.name()
                );
            }
        }
    }

    let _ = writeln!(
        out,
        "\nTHREAD-SHARED BACKENDS (times in the report relative to `arc`)"
    );
    for backend in SharedBackendChoice::ALL {
        let _ = writeln!(out, "  {:<16} {}", backend.name(), backend.describe());
    }
    super::emit(&out);
}

/// One line per parameter: name, defaults per scale (one value if they are all the same), doc.
fn list_params(out: &mut String, specs: &[ParamSpec]) {
    for spec in specs {
        let defaults: Vec<String> = Scale::ALL
            .iter()
            .map(|s| match spec.kind {
                ParamKind::Fraction => format!("{}", spec.default_at(*s)),
                ParamKind::Count | ParamKind::Flag => format!("{}", spec.default_at(*s) as u64),
                ParamKind::Path => "(required)".to_owned(),
            })
            .collect();
        let defaults = if defaults.iter().all(|d| *d == defaults[0]) {
            defaults[0].clone()
        } else {
            defaults.join(" / ")
        };
        let _ = writeln!(out, "      {:<15} {:<32} {}", spec.name, defaults, spec.doc);
    }
}
