//! Measuring one thread-shared run in this process: [`SharedRunSpec`] in,
//! [`RunRecord`] out — the same record as a single-threaded run, so that the runner, `gclab run`
//! and `report.json` carry both.
//!
//! Sequence, on a fresh coordinator thread: take the process's turn (runs in one process share
//! the drop ledger and gclab's shared heap) → make the backend → read RSS → time the workload
//! (its threads, its own collect calls, its tear-down) → take the collections → merge what was
//! queued to this thread, one more full collection, timed apart (it finds what the workload left)
//! → add up the ledger and read RSS.
//!
//! What the record holds for a shared run:
//!
//! - `collections`: one number, every collection during the workload (automatic and explicit);
//!   `pauses`: their pauses, with the source the backend names (`collector` for gclab: every
//!   collection; `explicit` for `dumpster-sync`: its collect calls only; `none` for `arc`);
//! - `examined`, `collected`: summed over gclab's collections;
//! - figures of the workload (`ns_per_node`, …) and of the collections, where known:
//!   `stop_p50_us`, `stop_max_us` (time to stop the world, every collection),
//!   `explicit_stop_p50_us`, `explicit_stop_max_us` and `explicit_collections` (the
//!   coordinator's collect calls, which stop every mutator while it runs),
//!   `explicit_pause_p50_us` and `explicit_pause_max_us` (their pauses),
//!   `collection_teardown_ms` (all tear-downs),
//!   `trace_phase_p50_us`, `resolve_phase_p50_us`, `mark_phase_p50_us`, `sweep_phase_p50_us`
//!   and their `_max_us` (the steps of every collection's search for garbage, gclab only: see
//!   `gc_refcount::sync::CollectionPhases`), `helped_collections` (the fraction of those
//!   collections whose walks a parked mutator helped with), and
//!   `dropped_by_creator` (the fraction of nodes that died on the thread that made them);
//! - `peak_live_nodes` is 0: the per-thread ledger does not follow the live count;
//! - `leaks_by_design` is set for a backend that documents that it may leave garbage behind
//!   ([`SharedBackend::may_leave_garbage`]): its drop check counts what was left instead of
//!   failing.

use std::time::{Duration, Instant};

use gc_refcount::sync::CollectionPhases;

use super::ledger;
use super::{Collection, SharedBackend, SharedBackendChoice, SharedUser, SharedWorkloadId};
use crate::cpu_time::CpuTime;
use crate::measure::{on_run_thread, rss_since};
use crate::params::Params;
use crate::pauses::{self, percentile};
use crate::probe::Probe;
use crate::record::{DropCheck, RunRecord};
use crate::rss;
use crate::scale::Scale;

/// One thread-shared run to measure.
#[derive(Debug, Clone)]
pub struct SharedRunSpec {
    /// The workload.
    pub workload: SharedWorkloadId,
    /// The backend.
    pub backend: SharedBackendChoice,
    /// The scale the parameters came from.
    pub scale: Scale,
    /// The parameter values.
    pub params: Params,
    /// The repetition number, recorded as is.
    pub rep: u32,
}

/// Runs `spec` on a fresh thread, after any other shared run of this process, and measures it.
/// An error is a failed run (the backend is not in this build, or the workload panicked).
pub fn run(spec: &SharedRunSpec) -> Result<RunRecord, String> {
    let _turn = ledger::exclusive();
    let spec = spec.clone();
    on_run_thread(format!("{}-{}", spec.workload, spec.backend), move || {
        spec.backend.open(Measure { spec: &spec })
    })
}

/// The measurement, as a [`SharedUser`] so it is monomorphised per backend.
struct Measure<'a> {
    spec: &'a SharedRunSpec,
}

impl SharedUser for Measure<'_> {
    type Output = RunRecord;

    fn run<B: SharedBackend>(self, heap: &B) -> RunRecord {
        let spec = self.spec;
        ledger::reset();
        let _ = heap.take_collections();
        let rss_start = rss::current_kib();
        let mut probe = Probe::new(false);

        let cpu_start = CpuTime::now();
        let clock = Instant::now();
        spec.workload.run(&spec.params, heap, &mut probe);
        let wall = clock.elapsed();
        let cpu_ms = CpuTime::since(cpu_start);

        let collections = heap.take_collections();
        let clock = Instant::now();
        heap.safepoint();
        heap.final_collect();
        let final_collect = clock.elapsed();
        let _ = heap.take_collections();
        let counts = ledger::finish();
        let recorded = probe.finish();

        let mut figures = recorded.figures;
        collection_figures(&collections, &mut figures);
        if counts.dropped > 0 {
            figures.insert(
                "dropped_by_creator".to_owned(),
                counts.dropped_by_creator as f64 / counts.dropped as f64,
            );
        }
        let sum = |f: fn(&Collection) -> Option<u64>| -> Option<u64> {
            collections.iter().map(f).sum::<Option<u64>>()
        };
        let (examined, collected) = if collections.is_empty() {
            (None, None)
        } else {
            (sum(|c| c.examined), sum(|c| c.found))
        };
        let pause_list: Vec<Duration> = collections.iter().map(|c| c.pause).collect();
        let may_leak = heap.may_leave_garbage();
        let passed = counts.double_drops == 0 && (may_leak || counts.dropped == counts.created);

        RunRecord {
            workload: spec.workload.name().to_owned(),
            config: spec.backend.name().to_owned(),
            config_full: spec.backend.describe(),
            kind: spec.backend.kind().to_owned(),
            crate_version: spec.backend.crate_version().map(str::to_owned),
            scale: spec.scale,
            rep: spec.rep,
            params: spec.params.values().clone(),
            text_params: spec.params.texts().clone(),
            wall_ms: wall.as_secs_f64() * 1e3,
            final_collect_ms: final_collect.as_secs_f64() * 1e3,
            objects_allocated: counts.created,
            objects_freed: counts.dropped,
            bytes_allocated: None,
            bytes_freed: None,
            collections: vec![collections.len() as u64],
            pauses: pauses::summarize(&pause_list, heap.pause_source()),
            examined,
            collected,
            peak_live_nodes: 0,
            peak_tracked: None,
            peak_live_bytes: None,
            rss_kib: rss_since(rss_start),
            cpu_ms,
            split_markings: None,
            unreclaimed_nodes: counts.created.saturating_sub(counts.dropped),
            leaks_by_design: may_leak,
            drop_check: DropCheck {
                created: counts.created,
                dropped: counts.dropped,
                double_drops: counts.double_drops,
                all_expected: !may_leak,
                passed,
            },
            samples: Vec::new(),
            figures,
            errors: recorded.errors,
        }
    }
}

/// The figures of the collections: time to stop the world (all, and the explicit ones), the
/// explicit ones' pauses, the tear-down total. Only what the backend could tell.
fn collection_figures(
    collections: &[Collection],
    figures: &mut std::collections::BTreeMap<String, f64>,
) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let sorted = |values: Vec<f64>| {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        values
    };
    let mut put = |prefix: &str, values: Vec<f64>| {
        if !values.is_empty() {
            let values = sorted(values);
            figures.insert(format!("{prefix}_p50_us"), percentile(&values, 50.0));
            figures.insert(
                format!("{prefix}_max_us"),
                values.last().copied().unwrap_or(0.0),
            );
        }
    };
    let explicit: Vec<&Collection> = collections.iter().filter(|c| c.explicit).collect();
    put(
        "stop",
        collections.iter().filter_map(|c| c.stop).map(us).collect(),
    );
    put(
        "explicit_stop",
        explicit.iter().filter_map(|c| c.stop).map(us).collect(),
    );
    put(
        "explicit_pause",
        explicit.iter().map(|c| us(c.pause)).collect(),
    );
    let phases: Vec<CollectionPhases> = collections.iter().filter_map(|c| c.phases).collect();
    put("trace_phase", phases.iter().map(|p| us(p.trace)).collect());
    put(
        "resolve_phase",
        phases.iter().map(|p| us(p.resolve)).collect(),
    );
    put("mark_phase", phases.iter().map(|p| us(p.mark)).collect());
    put("sweep_phase", phases.iter().map(|p| us(p.sweep)).collect());
    if !phases.is_empty() {
        let helped = phases.iter().filter(|p| p.walk_threads > 1).count();
        figures.insert(
            "helped_collections".to_owned(),
            helped as f64 / phases.len() as f64,
        );
    }
    let teardowns: Vec<Duration> = collections.iter().filter_map(|c| c.teardown).collect();
    if !teardowns.is_empty() {
        figures.insert(
            "collection_teardown_ms".to_owned(),
            teardowns.iter().sum::<Duration>().as_secs_f64() * 1e3,
        );
    }
    figures.insert("explicit_collections".to_owned(), explicit.len() as f64);
}
