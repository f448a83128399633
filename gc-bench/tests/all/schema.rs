//! The JSON schema: run records and reports round-trip through serde unchanged, and carry the
//! fields the report's readers rely on.

use gc_bench::record::RunRecord;
use gc_bench::report::Report;
use gc_bench::workloads::WorkloadId;

use super::support::{tiny_report, tiny_run};

#[test]
fn a_run_record_round_trips() {
    let record = tiny_run(WorkloadId::SteadyBurst, "cpython312", 2);
    let json = serde_json::to_string(&record).unwrap();
    let back: RunRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in [
        "workload",
        "config",
        "wall_ms",
        "objects_allocated",
        "objects_freed",
        "collections",
        "pauses",
        "examined",
        "collected",
        "peak_tracked",
        "peak_live_bytes",
        "rss_kib",
        "unreclaimed_nodes",
        "drop_check",
        "samples",
        "figures",
    ] {
        assert!(value.get(key).is_some(), "record lacks {key}");
    }
    for key in ["p50_us", "p90_us", "p99_us", "max_us", "histogram"] {
        assert!(value["pauses"].get(key).is_some(), "pauses lack {key}");
    }
    for key in ["start", "peak", "end"] {
        assert!(value["rss_kib"].get(key).is_some(), "rss lacks {key}");
    }
    if cfg!(unix) {
        for key in ["user", "system"] {
            assert!(
                value["cpu_ms"][key].as_f64().is_some(),
                "cpu_ms lacks {key}"
            );
        }
        let cpu = record.cpu_ms.expect("a CPU time on Unix");
        assert!(cpu.user >= 0.0 && cpu.system >= 0.0, "{cpu:?}");
    }
    assert_eq!(value["rep"], 2);
    assert_eq!(value["scale"], "tiny");
}

#[test]
fn a_report_round_trips() {
    let report = tiny_report();
    let json = serde_json::to_string_pretty(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.schema_version, gc_bench::report::SCHEMA_VERSION);
    assert!(!back.summaries.is_empty());
    assert!(back
        .summaries
        .iter()
        .any(|c| c.config == "rc" && c.relative_to_baseline == Some(1.0)));
}
