//! The thread-shared workloads (`gc_bench::shared`): each runs at the tiny scale on every shared
//! backend and passes the drop check; gclab's collections are logged (explicit ones flagged);
//! the report gets its "Thread-shared heaps" table, which survives the JSON round trip; and the
//! `gclab` binary runs, lists and reports them.

use gc_bench::matrix::Matrix;
use gc_bench::params::Params;
use gc_bench::record::RunRecord;
use gc_bench::report::{markdown, Report};
use gc_bench::shared::gclab_sync::BiasedBackend;
use gc_bench::shared::ledger;
use gc_bench::shared::measure::{self, SharedRunSpec};
use gc_bench::shared::selection::SharedPlan;
use gc_bench::shared::{SharedBackend, SharedBackendChoice, SharedWorkloadId};
use gc_bench::Scale;

use super::support::{gclab, read_report, report_section, ScratchDir};

/// Measures `workload` on `backend` at the tiny scale with `overrides`, in this process.
fn tiny_shared(
    workload: SharedWorkloadId,
    backend: SharedBackendChoice,
    overrides: &[&str],
) -> RunRecord {
    let overrides: Vec<String> = overrides.iter().map(|o| (*o).to_owned()).collect();
    let params = Params::resolve(workload.name(), workload.params(), Scale::Tiny, &overrides)
        .unwrap_or_else(|e| panic!("{e}"));
    let spec = SharedRunSpec {
        workload,
        backend,
        scale: Scale::Tiny,
        params,
        rep: 0,
    };
    measure::run(&spec).unwrap_or_else(|e| panic!("{workload} on {backend}: {e}"))
}

#[test]
fn every_shared_workload_runs_on_every_shared_backend() {
    for workload in SharedWorkloadId::ALL {
        for &backend in SharedBackendChoice::ALL {
            let record = tiny_shared(workload, backend, &[]);
            let check = &record.drop_check;
            assert!(
                check.passed && check.double_drops == 0,
                "{workload} on {backend}: {check:?}"
            );
            if !record.leaks_by_design {
                assert_eq!(check.created, check.dropped, "{workload} on {backend}");
            }
            assert!(check.created > 0, "{workload} on {backend} made nothing");
            let ns = record.figures.get("ns_per_node").copied().unwrap_or(0.0);
            assert!(ns > 0.0, "{workload} on {backend}: ns_per_node {ns}");
            assert_eq!(record.workload, workload.name());
            assert_eq!(record.config, backend.name());
        }
    }
}

#[test]
fn cyclic_pairs_are_collected_or_broken_by_hand() {
    for &backend in SharedBackendChoice::ALL {
        let record = tiny_shared(
            SharedWorkloadId::ProducerConsumer,
            backend,
            &["cycle_fraction=0.5"],
        );
        let check = &record.drop_check;
        assert!(check.passed, "{backend}: {check:?}");
        assert!(
            check.created > record.params["objects"] as u64,
            "{backend}: no pairs made"
        );
    }
}

#[test]
fn gclab_logs_every_collection_with_its_time_to_stop() {
    for backend in [
        SharedBackendChoice::SyncBiased,
        SharedBackendChoice::SyncAtomic,
    ] {
        // Enough allocations for automatic collections (the default threshold is 2000).
        let record = tiny_shared(SharedWorkloadId::SharedChurn, backend, &["steps=20000"]);
        assert!(
            record.drop_check.passed,
            "{backend}: {:?}",
            record.drop_check
        );
        let figure = |name: &str| record.figures.get(name).copied();
        assert!(record.collections[0] > 0, "{backend}: no collection logged");
        assert_eq!(record.pauses.source, "collector");
        assert_eq!(record.pauses.count, record.collections[0]);
        assert!(figure("stop_max_us") >= figure("stop_p50_us"), "{backend}");
        assert!(figure("stop_p50_us").is_some(), "{backend}");
        // The steps of the search for garbage happen within the pause.
        let steps: f64 = ["trace", "resolve", "mark", "sweep"]
            .iter()
            .map(|step| {
                let (p50, max) = (
                    figure(&format!("{step}_phase_p50_us")),
                    figure(&format!("{step}_phase_max_us")),
                );
                assert!(p50.is_some() && max >= p50, "{backend}: {step} phase");
                max.unwrap_or(0.0)
            })
            .sum();
        assert!(steps > 0.0, "{backend}: the phases took no time");
        assert!(
            figure("trace_phase_max_us").unwrap_or(0.0) <= record.pauses.max_us,
            "{backend}: a phase outside the pause"
        );
        assert!(record.examined.is_some_and(|e| e > 0));
        assert!(
            record.collected.is_some_and(|c| c > 0),
            "{backend}: rings found"
        );
    }
}

#[test]
fn an_explicit_collect_is_logged_as_explicit() {
    // The shared heap is the process's: take the turn the shared runs take.
    let _turn = ledger::exclusive();
    std::thread::spawn(|| {
        let heap = BiasedBackend::new();
        let node = heap.alloc(1);
        drop(heap.replace_edge(&node, 1, Some(node.clone()))); // a self-cycle
        drop(node);
        heap.collect();
        let log = heap.take_collections();
        let explicit: Vec<_> = log.iter().filter(|c| c.explicit).collect();
        assert_eq!(explicit.len(), 1, "{log:?}");
        assert!(explicit[0].stop.is_some() && explicit[0].found >= Some(1));
        assert!(explicit[0].pause >= explicit[0].stop.unwrap());
    })
    .join()
    .unwrap();
}

/// A report with the shared runs of `plan`, one repetition each at the tiny scale, and no
/// single-threaded run.
fn shared_report(plan: &SharedPlan) -> Report {
    let runs: Vec<RunRecord> = plan
        .pairs()
        .into_iter()
        .map(|(workload, backend)| tiny_shared(workload, backend, &[]))
        .collect();
    let mut matrix = Matrix::default_matrix();
    matrix.workloads.clear();
    matrix.backends.clear();
    Report::new(&matrix, Scale::Tiny, 1, Vec::new(), Vec::new(), 0.5).with_shared(
        plan,
        runs,
        Vec::new(),
    )
}

#[test]
fn the_report_has_a_thread_shared_table_relative_to_arc() {
    let report = shared_report(&SharedPlan::all());
    assert!(report.all_passed(), "{:?}", report.drop_check_failures());
    let text = markdown::render(&report);
    let table = report_section(&text, "Thread-shared heaps");
    for workload in SharedWorkloadId::ALL {
        for &backend in SharedBackendChoice::ALL {
            let row = format!("| {} | {} |", workload.name(), backend.name());
            assert!(table.contains(&row), "{row} missing from:\n{table}");
        }
        let arc = format!("| {} | arc | ", workload.name());
        let arc_row = table.lines().find(|l| l.starts_with(&arc)).unwrap();
        // The ratio of the wall time per node and, on Unix, of the CPU time.
        let ratios = if cfg!(unix) { 2 } else { 1 };
        assert_eq!(arc_row.matches("(1.00×)").count(), ratios, "{arc_row}");
        if cfg!(unix) {
            assert!(arc_row.contains("% system |"), "{arc_row}");
        }
    }
    assert!(
        text.contains("`shared-churn` (anchors="),
        "parameters listed"
    );

    let json = serde_json::to_string(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.shared_runs.len(), report.shared_runs.len());

    // A report without shared runs has neither the table nor the fields.
    let without = Report::new(
        &Matrix::default_matrix(),
        Scale::Tiny,
        1,
        Vec::new(),
        Vec::new(),
        0.1,
    );
    assert!(!markdown::render(&without).contains("Thread-shared"));
    let json = serde_json::to_string(&without).unwrap();
    assert!(!json.contains("shared_runs"));
}

#[test]
fn gclab_runs_lists_and_reports_the_shared_workloads() {
    let output = gclab(&[
        "run",
        "--workload",
        "producer-consumer",
        "--config",
        "sync-biased",
        "--scale",
        "tiny",
        "--param",
        "objects=500",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record: RunRecord = serde_json::from_slice(&output.stdout).expect("one JSON record");
    assert_eq!(record.params["objects"], 500.0);
    assert!(record.drop_check.passed);

    let wrong = gclab(&[
        "run",
        "--workload",
        "shared-churn",
        "--config",
        "cpython312",
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("sync-biased") && stderr.contains("arc"),
        "{stderr}"
    );

    let list = gclab(&["list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    for needle in [
        "shared-churn",
        "producer-consumer",
        "collect_ms",
        "sync-atomic",
    ] {
        assert!(text.contains(needle), "{needle} missing from list");
    }

    let dir = ScratchDir::new("shared-report");
    let out = dir.join("report");
    let output = gclab(&[
        "report",
        "--scale",
        "tiny",
        "--reps",
        "2",
        "--only",
        "shared-churn,producer-consumer",
        "--out",
        out.to_str().unwrap(),
    ]);
    let report = read_report(&output, &out);
    assert!(
        report.runs.is_empty(),
        "--only selected no single-threaded run"
    );
    assert_eq!(
        report.shared_runs.len(),
        2 * 2 * SharedBackendChoice::ALL.len()
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Thread-shared heaps"));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Thread-shared heaps"));
}
