//! Every workload on every configuration at the tiny scale drops every node exactly once — or,
//! under a policy that leaks cycles by design, never drops one twice.

use gc_bench::backends::{BackendChoice, Peer};
use gc_bench::matrix::cannot_run;
use gc_bench::workloads::WorkloadId;
use gc_refcount::PRESETS;

use super::support::tiny_run;

fn check_all(config: &str) {
    let backend = BackendChoice::parse(config).unwrap();
    for workload in WorkloadId::ALL {
        if cannot_run(workload, &backend).is_some() {
            continue;
        }
        let record = tiny_run(workload, config, 0);
        let check = &record.drop_check;
        assert!(
            check.passed,
            "{workload} on {config}: drop check failed: {check:?}"
        );
        assert_eq!(check.double_drops, 0, "{workload} on {config}");
        assert!(check.created > 0, "{workload} on {config} created nothing");
        if record.leaks_by_design {
            assert_eq!(record.unreclaimed_nodes, check.created - check.dropped);
        } else {
            assert_eq!(
                record.unreclaimed_nodes, 0,
                "{workload} on {config} left nodes unreclaimed"
            );
        }
    }
}

#[test]
fn every_workload_under_every_preset() {
    for (preset, _) in PRESETS {
        check_all(preset);
    }
}

#[test]
fn every_workload_under_every_peer() {
    for peer in Peer::ALL {
        check_all(peer.name());
    }
}

#[test]
fn only_the_none_detector_leaks_and_it_leaks_the_rings() {
    for (preset, _) in PRESETS {
        let record = tiny_run(WorkloadId::Rings, preset, 0);
        let leaks = record.config_full.contains("none/");
        assert_eq!(record.leaks_by_design, leaks, "{preset}");
        if leaks {
            assert_eq!(record.unreclaimed_nodes, record.drop_check.created);
        }
    }
}

#[test]
fn a_combination_outside_the_presets_runs_too() {
    check_all("trial-deletion/cpython:100,5,5/system");
    check_all("trial-deletion/manual/system");
}
